// Upload benchmark: the same file is sent to the local S3 twice, once by curl (the ceiling:
// parallel PUTs of pre-split parts, each hashed and signed first as the integrity mode wants)
// and once by Haul in headless Chromium, and the throughputs are compared. Meanwhile the Haul
// server process is sampled to show that it carries no file bytes: its memory stays flat and
// its CPU near zero.
//
// Run through scripts/bench.sh, which provides:
//   HAUL_BENCH_SERVER     the server binary
//   HAUL_BENCH_SITE_ROOT  the browser bundle (target/site)
//   HAUL_BENCH_TMP        a scratch directory, removed by the caller
// Optional: HAUL_BENCH_FILES_DIR (where test files are made, and found by later runs),
// HAUL_BENCH_MIB (file size, default 1024), HAUL_BENCH_FILES (files of that size the
// browser uploads at once, default 1; curl sends the first), HAUL_BENCH_CURL=0 (no curl run),
// CHROMIUM (browser executable),
// HAUL_BENCH_PARALLEL (parts in flight, default 4), HAUL_BENCH_PART (part size, default 16MiB),
// HAUL_BENCH_MBIT and HAUL_BENCH_RTT_MS: both S3 runs go through a WAN-shaped link of that
// rate (each direction, shared by all connections) and round trip (bench/shaper.mjs),
// HAUL_BENCH_CHECKSUM (sha256, md5 or none; default sha256): the server's HAUL_S3_CHECKSUM,
// what each part URL is signed for; curl hashes each part as the browser then does (SHA-256;
// SHA-256 and MD5; nothing). The server runs with HAUL_S3_PROBE=false, so no run pays for the
// storage probe at start. HAUL_BENCH_CONSOLE=FILE appends what the page and its workers log
// to their consoles to FILE, each line after the time it came (ms).
//
// Exits 0 whatever the ratio (this is a measurement); non-zero only when something breaks.

import { execFileSync, spawn } from "node:child_process";
import { createHash, randomUUID } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import {
  apiClient as sharedClient,
  freePort,
  launchChromium,
  makeRandomFile,
  startServer,
  stopServer,
} from "./common.mjs";
import { chromiumMemory, cpuOf, machineBusy, processesBelow, processUsage, profileChromium, sampleMemory } from "./procfs.mjs";

const MIB = 1024 * 1024;
// "Parts in flight per file" on the upload page (its default is 4); curl gets the same.
const PARALLEL = Number(process.env.HAUL_BENCH_PARALLEL ?? "4");
const PART_SIZE = process.env.HAUL_BENCH_PART ?? "16MiB";
const wan = process.env.HAUL_BENCH_MBIT
  ? { mbit: Number(process.env.HAUL_BENCH_MBIT), rttMs: Number(process.env.HAUL_BENCH_RTT_MS ?? "50") }
  : null;
const SAMPLE_MS = 200;
// Chromium's memory in detail (by kind of process, and PSS), at a CPU cost (procfs.mjs).
const MEMORY_DETAIL = process.env.HAUL_BENCH_MEMORY_DETAIL === "1";
// Seconds to wait after the upload before Chromium's memory is read once more (0: not read).
const IDLE_S = Number(process.env.HAUL_BENCH_IDLE_S ?? "0");
const PASSWORD = "bench password, long enough";
// The integrity mode (HAUL_S3_CHECKSUM): which digests each part is signed with.
const CHECKSUM = process.env.HAUL_BENCH_CHECKSUM ?? "sha256";
if (!["sha256", "md5", "none"].includes(CHECKSUM)) {
  fail(`HAUL_BENCH_CHECKSUM must be sha256, md5 or none, got ${CHECKSUM}`);
}

const serverBin = requiredEnv("HAUL_BENCH_SERVER");
const siteRoot = requiredEnv("HAUL_BENCH_SITE_ROOT");
const tmp = requiredEnv("HAUL_BENCH_TMP");
// Where the test files are written; kept there for the next runs when set (scripts/bench.sh
// sets it, so a whole bench writes each size once).
const filesDir = process.env.HAUL_BENCH_FILES_DIR ?? tmp;
const sizeMib = Number(process.env.HAUL_BENCH_MIB ?? "1024");
if (!Number.isInteger(sizeMib) || sizeMib < 1) {
  fail(`HAUL_BENCH_MIB must be a whole number of MiB, got ${process.env.HAUL_BENCH_MIB}`);
}
const sizeBytes = sizeMib * MIB;
const fileCount = Number(process.env.HAUL_BENCH_FILES ?? "1");
if (!Number.isInteger(fileCount) || fileCount < 1) {
  fail(`HAUL_BENCH_FILES must be a whole number, got ${process.env.HAUL_BENCH_FILES}`);
}
const withCurl = process.env.HAUL_BENCH_CURL !== "0";
const serverLog = path.join(tmp, "server.log");
let server; // the spawned server (ChildProcess)
let shaper; // the WAN-shaped link (a child process), in WAN mode
let browser; // the launched Chromium
let stopping = false; // set once we stop the server ourselves

function requiredEnv(name) {
  const value = process.env[name];
  if (!value) fail(`${name} is not set (run scripts/bench.sh)`);
  return value;
}

function log(message) {
  console.error(`bench: ${message}`);
}

function fail(message) {
  log(message);
  process.exit(1);
}

async function startHaul(port, extraEnv = {}) {
  server = await startServer({
    bin: serverBin,
    port,
    logPath: serverLog,
    env: {
      HAUL_DATA_DIR: path.join(tmp, "data"),
      LEPTOS_SITE_ROOT: siteRoot,
      HAUL_PART_SIZE: PART_SIZE,
      HAUL_DEFAULT_QUOTA: "20GiB",
      HAUL_LOG: "warn",
      // Two sign-ups per run from one IP; keep repeated runs clear of the default limit.
      HAUL_RATE_LIMIT_PER_IP: "1000",
      HAUL_S3_CHECKSUM: CHECKSUM,
      // The probe at start (its default) tries the store for up to 20 s; not what is measured.
      HAUL_S3_PROBE: "false",
      ...extraEnv,
    },
  });
}

/** Starts bench/shaper.mjs in front of 127.0.0.1:`upstreamPort`; `command("reset")`
 * and `command("stats")` talk to it. */
async function startShaper(upstreamPort) {
  const child = spawn(
    process.execPath,
    [new URL("./shaper.mjs", import.meta.url).pathname, String(upstreamPort), String(wan.rttMs), String(wan.mbit)],
    { stdio: ["pipe", "pipe", "inherit"] },
  );
  const lines = [];
  const waiting = [];
  let pending = "";
  child.stdout.on("data", (data) => {
    pending += data;
    let newline;
    while ((newline = pending.indexOf("\n")) >= 0) {
      const line = JSON.parse(pending.slice(0, newline));
      pending = pending.slice(newline + 1);
      if (waiting.length) waiting.shift()(line);
      else lines.push(line);
    }
  });
  const next = () => (lines.length ? Promise.resolve(lines.shift()) : new Promise((resolve) => waiting.push(resolve)));
  const { port } = await next();
  return {
    child,
    port,
    command(command) {
      child.stdin.write(`${command}\n`);
      return next();
    },
    async stop() {
      child.stdin.end();
      await new Promise((resolve) => child.once("exit", resolve));
    },
  };
}

/** Starts measuring the link, and returns a function that ends the measurement from `t0Epoch`
 * (when the run began, ms since the epoch). */
async function measureLink(bytes) {
  if (!shaper) return async () => ({});
  await shaper.command("reset");
  const cpuStart = processUsage(shaper.child.pid).cpu;
  return async (t0Epoch, seconds) => {
    const link = await shaper.command("stats");
    const linkBytesPerSecond = (wan.mbit * 1e6) / 8;
    return {
      linkShare: bytes / (seconds * linkBytesPerSecond),
      firstByte: (link.firstByteAt - t0Epoch) / 1000,
      idle: (link.lastByteAt - link.firstByteAt - link.busyMs) / 1000,
      shaperCpu: processUsage(shaper.child.pid).cpu - cpuStart,
    };
  };
}

/** `root` and every process below it alive now, except the server (and the PostgreSQL and
 * SeaweedFS it runs) and the shaped link. */
function clientProcesses(root) {
  return processesBelow(root, new Set([server?.pid, shaper?.child.pid]));
}

/** Chromium's processes (all below this one, apart from the server and the shaper). */
function chromiumProcesses() {
  return clientProcesses(process.pid).filter((pid) => pid !== process.pid);
}

/** The CPU seconds the uploading client spends from now until the returned function is called:
 * for curl, this process (it hashes and signs each part) and the curl processes it runs; for
 * the browser, every Chromium process (Playwright runs them below this process). */
function sampleClient(withThisProcess) {
  const spent = () => cpuOf(clientProcesses(process.pid), process.pid, withThisProcess);
  const first = spent();
  return () => spent() - first;
}

/** Samples the server process until stopped: its CPU and memory; and the CPU of the store it
 * runs (SeaweedFS and PostgreSQL, the processes below it), and how busy the machine was. */
function sampleServer() {
  const first = processUsage(server.pid);
  const storeSpent = () => cpuOf(processesBelow(server.pid), server.pid, false);
  const storeFirst = storeSpent();
  const busy = machineBusy();
  let peak = first.rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, processUsage(server.pid).rss);
  }, SAMPLE_MS);
  return () => {
    clearInterval(timer);
    const last = processUsage(server.pid);
    return {
      cpu: last.cpu - first.cpu,
      rssStart: first.rss,
      rssPeak: Math.max(peak, last.rss),
      storeCpu: storeSpent() - storeFirst,
      busy: busy(),
    };
  };
}

/** Flushes written files to disk, so their writeback does not compete with a timed run. */
function flushDisk() {
  execFileSync("sync");
}

/** A signed-in API client (a fresh account). */
async function apiClient(base, email) {
  const post = sharedClient(base);
  await post("sign_up", new URLSearchParams({ email, password: PASSWORD }));
  return post;
}

/** Runs `tasks` (functions returning promises) with at most `limit` running at once. */
async function pool(tasks, limit) {
  let next = 0;
  async function worker() {
    while (next < tasks.length) await tasks[next++]();
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker));
}

/** One PUT of one file; -T streams it rather than loading it into memory. `headers` must
 * match what the URL was signed for (the part's SHA-256 or MD5, per CHECKSUM). */
function curlPut(url, file, headers = []) {
  return new Promise((resolve, reject) => {
    const extra = headers.flatMap((header) => ["-H", header]);
    const curl = spawn("curl", ["-sS", "-f", "-o", "/dev/null", ...extra, "-T", file, url], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    curl.stderr.on("data", (chunk) => (stderr += chunk));
    curl.on("error", reject);
    curl.on("exit", (code, signal) =>
      code === 0
        ? resolve()
        : reject(new Error(`curl PUT ${path.basename(file)} failed (${signal ?? `exit ${code}`}): ${stderr}`)),
    );
  });
}

/** Part `number` (the bytes in `file`) as `sign_parts` wants it in CHECKSUM's mode: with its
 * base64 SHA-256 (sha256), its SHA-256 and MD5 (md5, as the browser's worker computes both over
 * one read), or its number alone (none: the file is not even read). */
function partToSign(number, file) {
  if (CHECKSUM === "none") return { part_number: number };
  const bytes = fs.readFileSync(file);
  const sha256 = createHash("sha256").update(bytes).digest("base64");
  if (CHECKSUM === "sha256") return { part_number: number, sha256 };
  return { part_number: number, sha256, md5: createHash("md5").update(bytes).digest("base64") };
}

/** The headers a signed part's PUT must carry, as curl -H arguments. */
function signedHeaders(part) {
  return part.headers.map(([name, value]) => `${name}: ${value}`);
}

/** SeaweedFS creates its volumes on the first write: a small untimed upload pays for that. */
async function warmUpStore(post) {
  const file = path.join(tmp, "warm-up.bin");
  makeRandomFile(file, MIB);
  const started = await post(
    "start_upload",
    new URLSearchParams({ name: "warm-up.bin", size: String(MIB), content_type: "application/octet-stream" }),
  );
  // One part, signed for its exact length and the digests of the mode.
  const [part] = await post("sign_parts", { file_id: started.file.id, parts: [partToSign(1, file)] });
  await curlPut(part.url, file, signedHeaders(part));
  await post("complete_upload", new URLSearchParams({ file_id: started.file.id }));
}

/** The ceiling: curl PUTs pre-split parts to their pre-signed URLs, PARALLEL at a time. */
async function runCurl(base, file) {
  const post = await apiClient(base, `bench-curl-${randomUUID()}@example.com`);
  const started = await post(
    "start_upload",
    new URLSearchParams({ name: path.basename(file), size: String(sizeBytes), content_type: "application/octet-stream" }),
  );
  const fileId = started.file.id;
  const { part_size: partSize, part_count: partCount } = started;
  if (partCount < 2) throw new Error("the file must be larger than one part (raise HAUL_BENCH_MIB)");

  // The file is split before the clock starts. Then each part goes as the browser's do: the
  // digests of the mode are computed (SHA-256; SHA-256 and MD5; none), its URL signed for
  // them, and curl PUTs it with the signed headers (x-amz-checksum-sha256 or Content-MD5),
  // which S3 checks for both alike. So both sides do the same work; curl signs part by part
  // where the browser signs in batches.
  const partsDir = path.join(tmp, "parts");
  fs.mkdirSync(partsDir);
  execFileSync("split", ["-b", String(partSize), "-d", "-a", "5", file, path.join(partsDir, "part.")]);
  const partFile = (number) => path.join(partsDir, `part.${String(number - 1).padStart(5, "0")}`);
  flushDisk();

  const link = await measureLink(sizeBytes);
  const stop = sampleServer();
  const client = sampleClient(true);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  const puts = [];
  for (let number = 1; number <= partCount; number++) {
    puts.push(async () => {
      const [part] = await post("sign_parts", { file_id: fileId, parts: [partToSign(number, partFile(number))] });
      await curlPut(part.url, partFile(number), signedHeaders(part));
    });
  }
  await pool(puts, PARALLEL);
  // Verified like the browser's upload: the server assembles the parts and checks the size
  // and the checksum.
  const completed = await post("complete_upload", new URLSearchParams({ file_id: fileId }));
  const seconds = (performance.now() - t0) / 1000;
  const usage = stop();
  const clientCpu = client();
  const onLink = await link(t0Epoch, seconds);
  if (completed.status !== "complete") throw new Error(`curl upload not complete: ${JSON.stringify(completed)}`);

  // The parts are no longer needed; free the disk before the browser run.
  fs.rmSync(partsDir, { recursive: true });
  return { seconds, partSize, clientCpu, ...usage, ...onLink };
}

/** Headless Chromium on the upload page, signed in as a fresh account, with PARALLEL parts in
 * flight per file. */
async function openUploadPage(base) {
  browser = await launchChromium();
  const context = await browser.newContext();
  // The context's request client shares its cookie jar with the page: this signs the page in.
  const signedUp = await context.request.post(`${base}/api/sign_up`, {
    headers: { Origin: base },
    form: { email: `bench-browser-${randomUUID()}@example.com`, password: PASSWORD },
  });
  if (!signedUp.ok()) throw new Error(`browser sign-up: ${signedUp.status()} ${await signedUp.text()}`);

  const page = await context.newPage();
  // Each run uploads the same file again: the page asks before a second copy; yes.
  page.on("dialog", (dialog) => dialog.accept());
  const pageErrors = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  if (process.env.HAUL_BENCH_CONSOLE) {
    const out = (text) => fs.appendFileSync(process.env.HAUL_BENCH_CONSOLE, `${Date.now()} ${text}\n`);
    page.on("console", (message) => out(`page ${message.text()}`));
    page.on("worker", (worker) => worker.on("console", (message) => out(message.text())));
  }
  await page.goto(`${base}/upload`);
  await page.waitForSelector('body[data-hydrated="true"]');
  await page.getByText("Transfer settings").click();
  const inFlight = page.getByLabel("Parts in flight per file");
  await inFlight.fill(String(PARALLEL));
  await inFlight.dispatchEvent("change");
  return { page, pageErrors };
}

/** Waits until the row of `file` has finished, and fails unless it is Done. */
async function waitDone(page, file, pageErrors) {
  const row = `li[aria-label="${path.basename(file)}"]`;
  // Done comes after complete_upload has verified the file, as in the curl run.
  const finished = await page.waitForSelector(
    `${row}:is([data-phase="Done"], [data-phase="Failed"], [data-phase="Cancelled"])`,
    { timeout: 15 * 60_000 },
  );
  const phase = await finished.getAttribute("data-phase");
  if (phase !== "Done") {
    const text = (await finished.innerText()).replace(/\s+/g, " ");
    throw new Error(`browser upload ended ${phase}: ${text}${pageErrors.length ? `\npage errors: ${pageErrors.join("\n")}` : ""}`);
  }
}

/** Haul itself: the upload page in headless Chromium, from picking the files (all at once) to
 * "Done" on each. */
async function runBrowser(base, files) {
  const { page, pageErrors } = await openUploadPage(base);
  flushDisk();

  const link = await measureLink(sizeBytes * files.length);
  const stop = sampleServer();
  const client = sampleClient(false);
  const threads = profileChromium(chromiumProcesses);
  const memory = sampleMemory(chromiumProcesses, SAMPLE_MS, MEMORY_DETAIL);
  const t0 = performance.now();
  const t0Epoch = Date.now();
  // A local browser gets the paths, not the bytes: Chromium reads the files from disk itself.
  await page.getByLabel("Choose files").setInputFiles(files);
  for (const file of files) await waitDone(page, file, pageErrors);
  const seconds = (performance.now() - t0) / 1000;
  const usage = stop();
  const clientCpu = client();
  const profile = threads();
  const onLink = await link(t0Epoch, seconds);
  const { start: browserRssStart, peak: browserRssPeak, ...browserMemory } = memory();
  if (IDLE_S > 0) {
    // What stays once the page has had nothing to do for a while (its hashing worker stops
    // after 20 s idle).
    await new Promise((resolve) => setTimeout(resolve, IDLE_S * 1000));
    const now = chromiumMemory(chromiumProcesses());
    browserMemory.idle = { rss: now.rss, renderers: now.byKind.get("renderer")?.rss ?? 0 };
  }
  return { seconds, clientCpu, profile, browserRssStart, browserRssPeak, browserMemory, ...usage, ...onLink };
}

/** Chromium's memory at the start and at the peak, added up and, in detail, by kind of process. */
function printMemory(haul) {
  const { pssStart, pssPeak, byKind } = haul.browserMemory;
  const mib = (value) => value.toFixed(0);
  console.log(
    `Chromium's resident memory, all processes: ${mib(haul.browserRssStart)} → ${mib(haul.browserRssPeak)} MiB at its peak`,
  );
  if (!byKind) return;
  console.log(`  proportional share (PSS): ${mib(pssStart)} → ${mib(pssPeak)} MiB`);
  console.log("  by process kind at the start → at the peak, MiB: RSS (anonymous + file + shared), PSS");
  for (const { kind, start, peak } of byKind) {
    const parts = (m) => `${mib(m.rss)} (${mib(m.anon)} + ${mib(m.file)} + ${mib(m.shmem)}), ${mib(m.pss)}`;
    console.log(`  ${kind.padEnd(24)} ${parts(start)} → ${parts(peak)}`);
  }
}

function printTable(curl, haul) {
  const gib = (sizeMib * fileCount) / 1024;
  const row = (method, r, mib) =>
    [
      method.padEnd(18),
      r.seconds.toFixed(1).padStart(9),
      (mib / r.seconds).toFixed(0).padStart(7),
      r.cpu.toFixed(2).padStart(14),
      `${r.rssStart.toFixed(1)} → ${r.rssPeak.toFixed(1)}`.padStart(27),
      r.storeCpu.toFixed(2).padStart(13),
      `${(r.busy * 100).toFixed(0)} %`.padStart(13),
    ].join(" ");
  const where = wan ? `a ${wan.mbit} Mbit/s link with ${wan.rttMs} ms round trip to the local SeaweedFS` : "local SeaweedFS";
  const what = fileCount > 1 ? `${fileCount} files of ${sizeMib} MiB at once` : `${sizeMib} MiB`;
  console.log(`Haul upload benchmark: ${what}, parts of ${PART_SIZE}, ${PARALLEL} in flight, ${where}, checksum ${CHECKSUM}`);
  console.log(
    "method               seconds   MiB/s   server CPU s   server RSS start→peak MiB   store CPU s   machine busy",
  );
  if (curl) console.log(row(`curl (${PARALLEL} parallel)`, curl, sizeMib));
  console.log(row("browser (Haul)", haul, sizeMib * fileCount));
  const perGib = (r, bytesGib) => (r.clientCpu / bytesGib).toFixed(2);
  if (curl && fileCount === 1) {
    const ratio = curl.seconds / haul.seconds; // same bytes, so the throughput ratio
    console.log(`browser / curl throughput: ${(ratio * 100).toFixed(0)} %`);
    console.log(`client CPU s per GiB: curl and its driver (hashing: ${CHECKSUM}, signing) ${perGib(curl, gib)}`);
  }
  console.log(`client CPU s per GiB: Chromium (all processes) ${perGib(haul, gib)}`);
  printMemory(haul);
  console.log("Chromium's CPU s by thread (process kind: thread name), those over 0.05 s:");
  for (const [thread, cpu] of haul.profile) console.log(`  ${cpu.toFixed(2).padStart(6)}  ${thread}`);
  if (wan) printLink(curl, haul);
}

function printLink(curl, haul) {
  console.log("on the link          share of link   first byte s   link idle s   shaper CPU s");
  const runs = [[`curl (${PARALLEL} parallel)`, curl], ["browser (Haul)", haul]];
  for (const [method, r] of runs.filter(([, r]) => r)) {
    console.log(
      [
        method.padEnd(18),
        `${(r.linkShare * 100).toFixed(1)} %`.padStart(15),
        r.firstByte.toFixed(2).padStart(14),
        r.idle.toFixed(2).padStart(13),
        r.shaperCpu.toFixed(2).padStart(14),
      ].join(" "),
    );
  }
}

async function cleanUp() {
  if (browser) await browser.close().catch(() => {});
  await stopServer(server);
  if (shaper) await shaper.stop();
}

async function main() {
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const files = Array.from({ length: fileCount }, (_, index) =>
    path.join(filesDir, `haul-bench-${sizeMib}MiB${index > 0 ? `-${index + 1}` : ""}.bin`),
  );
  for (const file of files) {
    if (fs.statSync(file, { throwIfNoEntry: false })?.size === sizeBytes) continue;
    log(`writing a ${sizeMib} MiB test file`);
    makeRandomFile(file, sizeBytes);
  }
  let extraEnv = {};
  if (wan) {
    // The browser and curl reach the store through the shaped link: the URLs are signed for
    // its address; the server itself reaches the store directly.
    const s3Port = await freePort();
    shaper = await startShaper(s3Port);
    log(`WAN-shaped link: ${wan.mbit} Mbit/s each way, ${wan.rttMs} ms round trip, on port ${shaper.port}`);
    extraEnv = {
      HAUL_LOCAL_S3_PORT: String(s3Port),
      HAUL_S3_PUBLIC_ENDPOINT: `http://127.0.0.1:${shaper.port}`,
    };
  }
  log(`starting the server on ${base}`);
  await startHaul(port, extraEnv);
  // A server that dies mid-run would otherwise surface as a confusing /proc read error.
  server.exited.then(({ code, signal }) => {
    if (!stopping) {
      log(`server exited unexpectedly (code ${code}, signal ${signal}); see ${serverLog}`);
      cleanUp().finally(() => process.exit(1));
    }
  });

  await warmUpStore(await apiClient(base, `bench-warm-up-${randomUUID()}@example.com`));
  let curl = null;
  if (withCurl) {
    log("curl run");
    curl = await runCurl(base, files[0]);
  }
  log("browser run");
  const haul = await runBrowser(base, files);
  printTable(curl, haul);
  // For scripts that gather several runs (bench/wan.mjs).
  console.log(`RESULT ${JSON.stringify({ checksum: CHECKSUM, curl, haul })}`);
}

for (const signal of ["SIGINT", "SIGTERM"]) {
  process.on(signal, () => {
    stopping = true;
    cleanUp().finally(() => process.exit(1));
  });
}

let exitCode = 0;
try {
  await main();
} catch (error) {
  log(error.message);
  exitCode = 1;
} finally {
  stopping = true;
  await cleanUp();
}
process.exit(exitCode);
