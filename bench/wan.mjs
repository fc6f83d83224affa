// The WAN-shaped benchmark (upload-bench.mjs through bench/shaper.mjs, a fresh server
// each run):
// 1. the targets: Haul uploads one 1 GiB file, then 4 files of 256 MiB at once, TARGET_RUNS
//    times each; the median and range of its share of the link are printed;
// 2. the matrix: curl and Haul at 1, 4 and 6 parts in flight and 16 and 64 MiB parts,
//    MATRIX_RUNS times each.
//
// Environment (scripts/bench.sh sets the first three):
//   HAUL_BENCH_SERVER, HAUL_BENCH_SITE_ROOT, HAUL_BENCH_TMP   as for upload-bench.mjs
//   HAUL_WAN_MBIT (default 200), HAUL_WAN_RTT_MS (default 50),
//   HAUL_WAN_TARGET_RUNS (default 3), HAUL_WAN_MIB (the matrix's file, default 256),
//   HAUL_WAN_RUNS (the matrix's runs, default 1; 0 skips it)

import { fixed2, median, percent, spread, uploadBench } from "./runs.mjs";

const mbit = process.env.HAUL_WAN_MBIT ?? "200";
const rttMs = process.env.HAUL_WAN_RTT_MS ?? "50";
const targetRuns = Number(process.env.HAUL_WAN_TARGET_RUNS ?? "3");
const matrixMib = process.env.HAUL_WAN_MIB ?? "256";
const matrixRuns = Number(process.env.HAUL_WAN_RUNS ?? "1");
const link = { HAUL_BENCH_MBIT: mbit, HAUL_BENCH_RTT_MS: rttMs };
const SHARE_TARGET = 0.9;

const targets = [
  { label: "one 1 GiB file", env: { HAUL_BENCH_MIB: "1024", HAUL_BENCH_FILES: "1" } },
  { label: "4 files of 256 MiB at once", env: { HAUL_BENCH_MIB: "256", HAUL_BENCH_FILES: "4" } },
];
const configs = [];
for (const part of ["16MiB", "64MiB"]) for (const parallel of [1, 4, 6]) configs.push({ part, parallel });

/** Runs each of `cases` `runs` times, alternating, so that all meet the machine's same moments. */
async function alternate(cases, runs, env, label) {
  const results = cases.map(() => []);
  for (let run = 1; run <= runs; run++) {
    for (const [index, one] of cases.entries()) {
      console.error(`wan: run ${run} of ${runs}: ${label(one)}`);
      results[index].push(await uploadBench({ ...link, ...env(one) }, label(one)));
    }
  }
  return results;
}

async function targetTable() {
  const results = await alternate(targets, targetRuns, (t) => ({ ...t.env, HAUL_BENCH_CURL: "0" }), (t) => t.label);
  console.log(
    `\nWAN-shaped upload by Haul alone: ${mbit} Mbit/s each way, ${rttMs} ms round trip, parts of 16 MiB, 4 in flight per file; median (range) of ${targetRuns} runs`,
  );
  console.log("upload                          share of link                first byte s       Chromium CPU s per GiB   target");
  for (const [index, { label, env }] of targets.entries()) {
    const rows = results[index].map((r) => r.haul);
    const shares = rows.map((r) => r.linkShare);
    const gib = (Number(env.HAUL_BENCH_MIB) * Number(env.HAUL_BENCH_FILES)) / 1024;
    const pass = median(shares) >= SHARE_TARGET ? "PASS" : "FAIL";
    console.log(
      [
        label.padEnd(30),
        spread(shares, percent).padEnd(28),
        spread(rows.map((r) => r.firstByte), fixed2).padEnd(18),
        spread(rows.map((r) => r.clientCpu / gib), fixed2).padEnd(24),
        `>= ${SHARE_TARGET * 100} %: ${pass}`,
      ].join(" "),
    );
  }
}

async function matrixTable() {
  const results = await alternate(
    configs,
    matrixRuns,
    ({ part, parallel }) => ({ HAUL_BENCH_MIB: matrixMib, HAUL_BENCH_PART: part, HAUL_BENCH_PARALLEL: String(parallel) }),
    ({ part, parallel }) => `parts of ${part}, ${parallel} in flight`,
  );
  console.log(
    `\nWAN-shaped upload: ${matrixMib} MiB through ${mbit} Mbit/s each way and ${rttMs} ms round trip; median (range) of ${matrixRuns} run(s)`,
  );
  console.log(
    "part   in flight | curl: share of link   first byte s   idle s | Haul: share of link   first byte s   idle s | shaper CPU s",
  );
  for (const [index, { part, parallel }] of configs.entries()) {
    const cells = (who) => {
      const rows = results[index].map((result) => result[who]);
      return [
        spread(rows.map((r) => r.linkShare), percent).padStart(26),
        spread(rows.map((r) => r.firstByte), fixed2).padStart(20),
        spread(rows.map((r) => r.idle), fixed2).padStart(20),
      ].join(" ");
    };
    const shaperCpu = median(results[index].map((r) => r.haul.shaperCpu)).toFixed(2);
    console.log(`${part.padEnd(6)} ${String(parallel).padStart(9)} | ${cells("curl")} | ${cells("haul")} | ${shaperCpu.padStart(8)}`);
  }
}

if (targetRuns > 0) await targetTable();
if (matrixRuns > 0) await matrixTable();
