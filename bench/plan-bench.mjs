// How long the server takes to sign every part of a 50 GiB upload: start_upload, then
// sign_parts in batches of 100 (the most one call takes), one after another as one browser
// would ask, with the SHA-256 each part of a sparse (all-zero) file has. Nothing is sent.
// RUNS times (default 3) against one server; prints the median and range.
//
// Environment: HAUL_BENCH_SERVER, HAUL_BENCH_TMP (scripts/bench.sh sets them),
// HAUL_PLAN_RUNS (default 3).

import { createHash, randomUUID } from "node:crypto";
import path from "node:path";
import { apiClient, freePort, startServer, stopServer } from "./common.mjs";

const GIB = 1024 ** 3;
const SIZE = 50 * GIB;
const BATCH = 100;
const runs = Number(process.env.HAUL_PLAN_RUNS ?? "3");
const tmp = process.env.HAUL_BENCH_TMP;

/** The base64 SHA-256 of `size` zero bytes. */
function zeros(size) {
  return createHash("sha256").update(Buffer.alloc(size)).digest("base64");
}

/** One 50 GiB plan signed whole; answers the seconds it took and the parts signed. */
async function signPlan(post) {
  const t0 = performance.now();
  const started = await post(
    "start_upload",
    new URLSearchParams({ name: "sparse-50GiB.bin", size: String(SIZE), content_type: "application/octet-stream" }),
  );
  const { part_size: partSize, part_count: partCount } = started;
  const full = zeros(partSize);
  const last = zeros(SIZE - (partCount - 1) * partSize);
  let signed = 0;
  for (let first = 1; first <= partCount; first += BATCH) {
    const parts = [];
    for (let number = first; number < first + BATCH && number <= partCount; number++) {
      parts.push({ part_number: number, sha256: number === partCount ? last : full });
    }
    signed += (await post("sign_parts", { file_id: started.file.id, parts })).length;
  }
  const seconds = (performance.now() - t0) / 1000;
  await post("abort_upload", new URLSearchParams({ file_id: started.file.id }));
  if (signed !== partCount) throw new Error(`signed ${signed} of ${partCount} parts`);
  return { seconds, partCount, partSize };
}

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const server = await startServer({
  bin: process.env.HAUL_BENCH_SERVER,
  port,
  logPath: path.join(tmp, "plan-server.log"),
  env: {
    HAUL_DATA_DIR: path.join(tmp, "plan-data"),
    LEPTOS_SITE_ROOT: process.env.HAUL_BENCH_SITE_ROOT ?? "target/site",
    HAUL_DEFAULT_QUOTA: "60GiB",
    HAUL_LOG: "warn",
  },
});
try {
  const post = apiClient(base);
  await post("sign_up", new URLSearchParams({ email: `plan-${randomUUID()}@example.com`, password: "bench password, long enough" }));
  const results = [];
  for (let run = 1; run <= runs; run++) results.push(await signPlan(post));
  const times = results.map((r) => r.seconds).sort((a, b) => a - b);
  const { partCount, partSize } = results[0];
  console.log(
    `50 GiB plan (${partCount} parts of ${partSize / 1024 ** 2} MiB) signed in batches of ${BATCH}: ` +
      `${times[Math.floor(times.length / 2)].toFixed(2)} s median (${times[0].toFixed(2)}–${times.at(-1).toFixed(2)}) of ${runs} runs`,
  );
} finally {
  await stopServer(server);
}
