// Chromium's CPU per GiB for hashing parts, split in its two halves: a 512 MiB file is hashed
// part by part (16 MiB) in a dedicated worker, RUNS rounds, alternating:
//   - the whole of it: public/hash-worker.js itself, as the upload engine uses it;
//   - reading only: hash-worker.js's own `read` (BYOB, into one reused buffer);
//   - SHA-256 only: Web Crypto's digest of a buffer already read, once per part;
// and, for comparison, Node's SHA-256 (OpenSSL) of the same bytes in this process.
//
// Environment (scripts/bench.sh sets HAUL_BENCH_TMP):
//   HAUL_BENCH_TMP (scratch directory), HAUL_HASH_MIB (default 512), HAUL_HASH_RUNS (default 3)

import { createHash } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { launchChromium, makeRandomFile } from "./common.mjs";
import { cpuOf, processesBelow } from "./procfs.mjs";
import { fixed2, spread } from "./runs.mjs";

const MIB = 1024 * 1024;
const mib = Number(process.env.HAUL_HASH_MIB ?? "512");
const runs = Number(process.env.HAUL_HASH_RUNS ?? "3");
const PART = 16 * MIB;
const HASH_WORKER = fs.readFileSync(new URL("../public/hash-worker.js", import.meta.url), "utf8");

// The halves, each a worker answering { id, blob } like hash-worker.js: its own `read` alone
// (the script is imported, so its reading is measured, not a copy), or the digest alone of one
// buffer of a part's size, filled once.
const HALVES = `
importScripts("/hash-worker.js");
let digestBuffer = new ArrayBuffer(0);
self.onmessage = async ({ data: { id, blob, half } }) => {
  if (half === "read") {
    await read(blob);
  } else {
    if (digestBuffer.byteLength !== blob.size) digestBuffer = new ArrayBuffer(blob.size);
    await crypto.subtle.digest("SHA-256", digestBuffer);
  }
  self.postMessage({ id });
};`;

const PAGE = '<!doctype html><link rel="icon" href="data:,"><input type="file" id="file">';

function startServer() {
  const server = http.createServer((req, res) => {
    const [body, type] =
      req.url === "/hash-worker.js" ? [HASH_WORKER, "text/javascript"]
      : req.url === "/halves.js" ? [HALVES, "text/javascript"]
      : [PAGE, "text/html"];
    res.setHeader("Content-Type", type);
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

/** In the page: sends every part of the chosen file to a fresh worker, one at a time. */
async function hashInPage({ script, half, part }) {
  const file = document.getElementById("file").files[0];
  const worker = new Worker(script);
  let id = 0;
  for (let start = 0; start < file.size; start += part) {
    const blob = file.slice(start, start + part);
    const answer = await new Promise((resolve) => {
      worker.onmessage = (event) => resolve(event.data);
      worker.postMessage({ id: ++id, blob, half });
    });
    if (answer.error) throw new Error(`hashing failed: ${answer.error}`);
  }
  worker.terminate();
}

/** Node's CPU seconds to hash `file` part by part (read first, as curl's driver does). */
function nodeHash(file) {
  const bytes = fs.readFileSync(file);
  const before = process.cpuUsage();
  for (let start = 0; start < bytes.length; start += PART) {
    createHash("sha256").update(bytes.subarray(start, start + PART)).digest();
  }
  const spent = process.cpuUsage(before);
  return (spent.user + spent.system) / 1e6;
}

async function main() {
  const file = path.join(process.env.HAUL_BENCH_TMP, `hash-${mib}MiB.bin`);
  makeRandomFile(file, mib * MIB);
  const server = await startServer();
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${server.address().port}/`);
  await page.locator("#file").setInputFiles(file);
  const chromiumPids = () => processesBelow(process.pid).filter((pid) => pid !== process.pid);

  const ways = [
    ["read and SHA-256 (hash-worker.js)", { script: "/hash-worker.js" }],
    ["reading only", { script: "/halves.js", half: "read" }],
    ["SHA-256 only (Web Crypto)", { script: "/halves.js", half: "digest" }],
  ];
  const results = ways.map(() => []);
  const node = [];
  for (let run = 1; run <= runs; run++) {
    for (const [index, [, way]] of ways.entries()) {
      const before = cpuOf(chromiumPids(), process.pid, false);
      await page.evaluate(hashInPage, { ...way, part: PART });
      results[index].push((cpuOf(chromiumPids(), process.pid, false) - before) / (mib / 1024));
    }
    node.push(nodeHash(file) / (mib / 1024));
  }
  await browser.close();
  server.close();
  fs.rmSync(file);

  console.log(`\nHashing ${mib} MiB in parts of 16 MiB; CPU s per GiB, median (range) of ${runs} runs`);
  const row = (name, values) => console.log(`${name.padEnd(46)} ${spread(values, fixed2)}`);
  for (const [index, [name]] of ways.entries()) row(`Chromium, ${name}`, results[index]);
  row("Node, SHA-256 (OpenSSL) of bytes already read", node);
}

await main();
