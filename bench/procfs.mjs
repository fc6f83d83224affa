// What the benchmarks read from /proc: CPU time and memory of processes and of Chromium's
// threads, by process tree.

import { execFileSync } from "node:child_process";
import fs from "node:fs";

const clockTicks = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim());

/** The fields of /proc/`pid`/stat after the command, as numbers (field N is at N - 3). Field 2
 * (the command) may hold spaces: they are counted from the last ")". `pid` may be
 * "PID/task/TID" for one thread. */
export function statFields(pid) {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  return stat.slice(stat.lastIndexOf(")") + 2).split(" ").map(Number);
}

/** The "FIELD:   N kB" line of a /proc status or smaps_rollup text, in MiB (0 if absent). */
function mibOf(text, field) {
  return Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? 0) / 1024;
}

/** Resident memory of one process in MiB, 0 if it is gone. */
function rssMib(pid) {
  try {
    return mibOf(fs.readFileSync(`/proc/${pid}/status`, "utf8"), "VmRSS");
  } catch {
    return 0;
  }
}

/** CPU time (s) and resident memory (MiB) of one process. */
export function processUsage(pid) {
  const fields = statFields(pid);
  return { cpu: (fields[14 - 3] + fields[15 - 3]) / clockTicks, rss: rssMib(pid) };
}

/** How busy the machine's CPUs are from now until the returned function is called: the share
 * of their time not idle (nor waiting for I/O), from /proc/stat, 0 to 1. */
export function machineBusy() {
  const ticks = () => {
    const [, ...fields] = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/);
    // user nice system idle iowait irq softirq steal (guest time is already in user and nice)
    const numbers = fields.slice(0, 8).map(Number);
    return { idle: numbers[3] + numbers[4], total: numbers.reduce((sum, n) => sum + n, 0) };
  };
  const first = ticks();
  return () => {
    const last = ticks();
    return 1 - (last.idle - first.idle) / (last.total - first.total);
  };
}

/** The processes alive now, as children by parent pid. */
function processTree() {
  const children = new Map();
  for (const entry of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = statFields(entry)[4 - 3];
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // Gone meanwhile.
    }
  }
  return children;
}

/** `root` and every process below it alive now, leaving out the processes in `skip` and
 * everything below them. */
export function processesBelow(root, skip = new Set()) {
  const children = processTree();
  const found = [];
  const pending = [root];
  while (pending.length) {
    const pid = pending.pop();
    if (skip.has(pid)) continue;
    found.push(pid);
    pending.push(...(children.get(pid) ?? []));
  }
  return found;
}

/** CPU seconds of `pids`, plus the children they have already waited for; `root`'s own time
 * only with `withRoot`. */
export function cpuOf(pids, root, withRoot) {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = statFields(pid);
      // utime, stime (of the process itself), cutime, cstime (of its waited-for children)
      if (pid !== root || withRoot) ticks += fields[14 - 3] + fields[15 - 3];
      ticks += fields[16 - 3] + fields[17 - 3];
    } catch {
      // Gone meanwhile.
    }
  }
  return ticks / clockTicks;
}

/** Chromium's kind of process, from its command line. */
function chromiumKind(pid) {
  // Chromium rewrites the command lines of its children as one string of spaced words.
  const args = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split(/[\0 ]/);
  const type = args.find((arg) => arg.startsWith("--type="))?.slice("--type=".length);
  if (!type) return "browser";
  const sub = args.find((arg) => arg.startsWith("--utility-sub-type="));
  return sub ? sub.slice("--utility-sub-type=".length).replace(/\.mojom\./, " ") : type;
}

/** CPU seconds of each thread of `pids` (Chromium's processes) alive now, by "process kind:
 * thread name" (threads of a pool, numbered by name, are added up); the threads that have
 * ended (a process's own time counts them, its task list does not) as "kind: (ended threads)". */
function chromiumThreads(pids) {
  const threads = new Map();
  const add = (key, seconds) => threads.set(key, (threads.get(key) ?? 0) + seconds);
  const cpu = (fields) => (fields[14 - 3] + fields[15 - 3]) / clockTicks;
  for (const pid of pids) {
    try {
      const kind = chromiumKind(pid);
      let live = 0;
      for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
        const name = fs.readFileSync(`/proc/${pid}/task/${tid}/comm`, "utf8").trim();
        const seconds = cpu(statFields(`${pid}/task/${tid}`));
        add(`${kind}: ${name.replace(/\d+$/, "")}`, seconds);
        live += seconds;
      }
      add(`${kind}: (ended threads)`, Math.max(0, cpu(statFields(pid)) - live));
    } catch {
      // Gone meanwhile.
    }
  }
  return threads;
}

/** Where Chromium's CPU goes from now until the returned function is called: the threads that
 * spent the most, largest first, as [name, seconds]. `pids()` lists Chromium's processes. */
export function profileChromium(pids) {
  const first = chromiumThreads(pids());
  return () => {
    const spent = [...chromiumThreads(pids())].map(([key, cpu]) => [key, cpu - (first.get(key) ?? 0)]);
    return spent.filter(([, cpu]) => cpu >= 0.05).sort((a, b) => b[1] - a[1]);
  };
}

/** Resident memory of one process in MiB by kind (status's RssAnon, RssFile, RssShmem) and
 * its proportional share (Pss, from smaps_rollup: a page shared by N processes counts 1/N in
 * each); null if it is gone. */
function memoryOf(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const rollup = fs.readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
    return {
      kind: chromiumKind(pid),
      rss: mibOf(status, "VmRSS"),
      anon: mibOf(status, "RssAnon"),
      file: mibOf(status, "RssFile"),
      shmem: mibOf(status, "RssShmem"),
      pss: mibOf(rollup, "Pss"),
    };
  } catch {
    return null;
  }
}

/** Chromium's memory now: RSS and PSS added up, and the same by process kind. */
export function chromiumMemory(pids) {
  const byKind = new Map();
  const total = { rss: 0, pss: 0 };
  for (const pid of pids) {
    const memory = memoryOf(pid);
    if (!memory) continue;
    const kind = byKind.get(memory.kind) ?? { rss: 0, anon: 0, file: 0, shmem: 0, pss: 0 };
    for (const key of Object.keys(kind)) kind[key] += memory[key];
    byKind.set(memory.kind, kind);
    total.rss += memory.rss;
    total.pss += memory.pss;
  }
  return { ...total, byKind };
}

/** Samples Chromium's memory (`pids()` lists its processes) every `everyMs` until stopped: at
 * the start and at the peak of the RSS added up (shared pages count once per process there, so
 * that growth is, if anything, overstated). With `detailed`, also the peak of the PSS added up
 * and each kind of process at both moments; that costs about 20 ms of CPU a sample (reading
 * smaps_rollup), 10 % of a core at 5 samples a second, against 2 ms for the RSS alone: use it
 * only where nothing else is being timed against the browser. */
export function sampleMemory(pids, everyMs, detailed) {
  const measure = detailed ? chromiumMemory : (list) => ({ rss: list.reduce((sum, pid) => sum + rssMib(pid), 0) });
  const start = measure(pids());
  let peak = start;
  let pssPeak = start.pss;
  const sample = () => {
    const now = measure(pids());
    if (now.rss > peak.rss) peak = now;
    if (detailed) pssPeak = Math.max(pssPeak, now.pss);
  };
  const timer = setInterval(sample, everyMs);
  return () => {
    clearInterval(timer);
    sample();
    if (!detailed) return { start: start.rss, peak: peak.rss };
    const kinds = [...new Set([...start.byKind.keys(), ...peak.byKind.keys()])];
    const none = { rss: 0, anon: 0, file: 0, shmem: 0, pss: 0 };
    const byKind = kinds.map((kind) => ({ kind, start: start.byKind.get(kind) ?? none, peak: peak.byKind.get(kind) ?? none }));
    return { start: start.rss, peak: peak.rss, pssStart: start.pss, pssPeak, byKind };
  };
}
