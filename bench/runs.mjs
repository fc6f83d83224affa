// Runs of upload-bench.mjs in child processes (a fresh server, store and browser each), and
// the median and range of what they measured. Used by loopback.mjs and wan.mjs.

import { spawn } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

/** One upload-bench.mjs run with `env` added to this process's environment, in a scratch
 * directory of its own below HAUL_BENCH_TMP; what it measured (its RESULT line). */
export function uploadBench(env, label) {
  const scratch = fs.mkdtempSync(path.join(process.env.HAUL_BENCH_TMP, "run-"));
  fs.chmodSync(scratch, 0o711);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [new URL("./upload-bench.mjs", import.meta.url).pathname], {
      env: { ...process.env, ...env, HAUL_BENCH_TMP: scratch },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (data) => (out += data));
    child.stderr.on("data", (data) => (err += data));
    child.on("exit", (code) => {
      fs.rmSync(scratch, { recursive: true, force: true });
      const line = out.split("\n").find((l) => l.startsWith("RESULT "));
      if (code !== 0 || !line) reject(new Error(`upload-bench failed (${label}):\n${err}${out}`));
      else resolve(JSON.parse(line.slice("RESULT ".length)));
    });
  });
}

/** The middle value; of an even number of values, the mean of the two in the middle. */
export const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const half = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[half] : (sorted[half - 1] + sorted[half]) / 2;
};

/** "median (min–max)" of `values`, each shown by `show`. */
export function spread(values, show) {
  return `${show(median(values))} (${show(Math.min(...values))}–${show(Math.max(...values))})`;
}

export const percent = (value) => `${(value * 100).toFixed(1)} %`;
export const fixed2 = (value) => value.toFixed(2);
