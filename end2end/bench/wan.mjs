// The WAN-shaped benchmark: curl and Haul in Chromium upload through a shaped link
// (end2end/bench/shaper.mjs) at 1, 4 and 6 parts in flight and 16 and 64 MiB parts, each
// configuration RUNS times (upload-bench.mjs, a fresh server each time), and the median and
// range of each figure are printed.
//
// Environment (scripts/bench.sh sets the first three):
//   HAUL_BENCH_SERVER, HAUL_BENCH_SITE_ROOT, HAUL_BENCH_TMP   as for upload-bench.mjs
//   HAUL_WAN_MIB (file size, default 256), HAUL_WAN_MBIT (default 200),
//   HAUL_WAN_RTT_MS (default 50), HAUL_WAN_RUNS (default 3)

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const mib = process.env.HAUL_WAN_MIB ?? "256";
const mbit = process.env.HAUL_WAN_MBIT ?? "200";
const rttMs = process.env.HAUL_WAN_RTT_MS ?? "50";
const runs = Number(process.env.HAUL_WAN_RUNS ?? "3");
const configs = [];
for (const part of ["16MiB", "64MiB"]) for (const parallel of [1, 4, 6]) configs.push({ part, parallel });

/** One upload-bench.mjs run; its RESULT line. */
function runOnce({ part, parallel }) {
  const scratch = fs.mkdtempSync(path.join(process.env.HAUL_BENCH_TMP, "wan-"));
  fs.chmodSync(scratch, 0o711);
  const env = {
    ...process.env,
    HAUL_BENCH_TMP: scratch,
    HAUL_BENCH_MIB: mib,
    HAUL_BENCH_MBIT: mbit,
    HAUL_BENCH_RTT_MS: rttMs,
    HAUL_BENCH_PART: part,
    HAUL_BENCH_PARALLEL: String(parallel),
  };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL("./upload-bench.mjs", import.meta.url).pathname], {
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (data) => (out += data));
    child.stderr.on("data", (data) => (err += data));
    child.on("exit", (code) => {
      fs.rmSync(scratch, { recursive: true, force: true });
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`upload-bench failed (${part}, ${parallel} in flight):\n${err}${out}`));
      else resolve(JSON.parse(line.slice("RESULT ".length)));
    });
  });
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
/** "median (min–max)" of `values`, each shown by `show`. */
function spread(values, show) {
  return `${show(median(values))} (${show(Math.min(...values))}–${show(Math.max(...values))})`;
}

const results = configs.map(() => []);
for (let run = 1; run <= runs; run++) {
  // Configurations alternate within a run, so that all meet the machine's same moments.
  for (const [index, config] of configs.entries()) {
    console.error(`wan: run ${run} of ${runs}: parts of ${config.part}, ${config.parallel} in flight`);
    results[index].push(await runOnce(config));
  }
}

const percent = (value) => `${(value * 100).toFixed(1)} %`;
const seconds = (value) => value.toFixed(2);
console.log(
  `\nWAN-shaped upload: ${mib} MiB through ${mbit} Mbit/s each way and ${rttMs} ms round trip; median (range) of ${runs} runs`,
);
console.log(
  "part   in flight | curl: share of link   first byte s   idle s | Haul: share of link   first byte s   idle s | shaper CPU s",
);
for (const [index, { part, parallel }] of configs.entries()) {
  const cells = (who) => {
    const rows = results[index].map((result) => result[who]);
    return [
      spread(rows.map((r) => r.linkShare), percent).padStart(26),
      spread(rows.map((r) => r.firstByte), seconds).padStart(20),
      spread(rows.map((r) => r.idle), seconds).padStart(20),
    ].join(" ");
  };
  const shaperCpu = median(results[index].map((r) => r.haul.shaperCpu)).toFixed(2);
  console.log(`${part.padEnd(6)} ${String(parallel).padStart(9)} | ${cells("curl")} | ${cells("haul")} | ${shaperCpu.padStart(8)}`);
}
