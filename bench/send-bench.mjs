// Chromium's CPU per GiB for ways of sending a file's parts, on their own: a 256 MiB file is PUT
// in parts, 4 at a time, to a local sink (this process) that discards the bytes, by
// XMLHttpRequest with upload progress events (what the engine uses), by XMLHttpRequest without
// them, by fetch with the slice as its body (no upload progress), and by XMLHttpRequest after
// reading each slice into memory first, as hashing does (by arrayBuffer(), or streamed into one
// reused buffer as the hashing worker does), at 16 and 64 MiB parts; RUNS rounds, alternating. The engine's own cost per progress event is not in these figures
// (it is in upload-bench's).
//
// Environment (scripts/bench.sh sets HAUL_BENCH_TMP):
//   HAUL_BENCH_TMP (scratch directory), HAUL_SEND_MIB (default 256), HAUL_SEND_RUNS (default 3),
//   HAUL_SEND_BYTES=1 (also send the bytes read, as an ArrayBuffer: slow, see below),
//   HAUL_SEND_WAYS (only these ways, separated by ";", e.g. "xhr with progress;fetch")

import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import { launchChromium, makeRandomFile } from "./common.mjs";
import { cpuOf, processesBelow } from "./procfs.mjs";
import { fixed2, spread } from "./runs.mjs";

const MIB = 1024 * 1024;
const mib = Number(process.env.HAUL_SEND_MIB ?? "256");
const runs = Number(process.env.HAUL_SEND_RUNS ?? "3");
const IN_FLIGHT = 4;
const ways = ["xhr with progress", "xhr", "fetch", "xhr, slice read first", "xhr, slice streamed first"];
// Sending the bytes already read (an ArrayBuffer body) instead of the slice: Chromium then
// sends at about 16 MiB/s for 90 CPU s per GiB, so it is measured only when asked for.
if (process.env.HAUL_SEND_BYTES === "1") ways.push("xhr of the bytes read");
if (process.env.HAUL_SEND_WAYS) {
  const chosen = process.env.HAUL_SEND_WAYS.split(";");
  const unknown = chosen.filter((way) => !ways.includes(way) && way !== "xhr of the bytes read");
  if (unknown.length) throw new Error(`HAUL_SEND_WAYS: unknown ways ${unknown.join(", ")}; known: ${ways.join("; ")}`);
  ways.splice(0, ways.length, ...chosen);
}
const partSizes = [16, 64];

const PAGE = '<!doctype html><link rel="icon" href="data:,"><input type="file" id="file">';

/** Answers GET with the page and any other request by reading its body to the end. */
function startSink() {
  const sink = http.createServer((req, res) => {
    if (req.method === "GET") {
      res.setHeader("Content-Type", "text/html");
      res.end(PAGE);
      return;
    }
    req.on("data", () => {});
    req.on("end", () => res.end("ok"));
  });
  return new Promise((resolve) => sink.listen(0, "127.0.0.1", () => resolve(sink)));
}

/** In the page: sends the chosen file in parts of `partSize` bytes, `inFlight` at a time. */
async function sendInPage({ way, partSize, inFlight }) {
  const file = document.getElementById("file").files[0];
  const parts = [];
  for (let start = 0; start < file.size; start += partSize) parts.push(file.slice(start, start + partSize));
  let events = 0;
  let buffer = new ArrayBuffer(0);
  // As the hashing worker reads a part: a byte stream read into one reused buffer.
  const stream = async (slice) => {
    if (buffer.byteLength < slice.size) buffer = new ArrayBuffer(slice.size);
    const reader = slice.stream().getReader({ mode: "byob" });
    for (let filled = 0; filled < slice.size; ) {
      const { value, done } = await reader.read(new Uint8Array(buffer, filled, slice.size - filled));
      if (done) break;
      buffer = value.buffer;
      filled += value.byteLength;
    }
    reader.releaseLock();
  };
  const xhr = (body) =>
    new Promise((resolve, reject) => {
      const request = new XMLHttpRequest();
      request.open("PUT", "/sink");
      if (way === "xhr with progress") request.upload.onprogress = () => events++;
      request.onloadend = () => (request.status === 200 ? resolve() : reject(new Error(`status ${request.status}`)));
      request.send(body);
    });
  const send = async (body) => {
    // As the engine does when it hashes a part: its slice is read into memory first.
    if (way === "xhr, slice read first") await body.arrayBuffer();
    if (way === "xhr, slice streamed first") await stream(body);
    if (way === "xhr of the bytes read") return xhr(await body.arrayBuffer());
    if (way !== "fetch") return xhr(body);
    const answer = await fetch("/sink", { method: "PUT", body });
    await answer.text();
  };
  let next = 0;
  const sender = async () => {
    while (next < parts.length) await send(parts[next++]);
  };
  await Promise.all(Array.from({ length: inFlight }, sender));
  return events;
}

async function main() {
  const file = path.join(process.env.HAUL_BENCH_TMP, `send-${mib}MiB.bin`);
  makeRandomFile(file, mib * MIB);
  const sink = await startSink();
  const browser = await launchChromium();
  const page = await browser.newPage();
  await page.goto(`http://127.0.0.1:${sink.address().port}/`);
  await page.locator("#file").setInputFiles(file);
  const chromiumPids = () => processesBelow(process.pid).filter((pid) => pid !== process.pid);

  const cases = partSizes.flatMap((part) => ways.map((way) => ({ way, part })));
  const results = cases.map(() => ({ cpu: [], mibs: [], events: 0 }));
  for (let run = 1; run <= runs; run++) {
    for (const [index, { way, part }] of cases.entries()) {
      const before = cpuOf(chromiumPids(), process.pid, false);
      const t0 = performance.now();
      const events = await page.evaluate(sendInPage, { way, partSize: part * MIB, inFlight: IN_FLIGHT });
      const seconds = (performance.now() - t0) / 1000;
      results[index].cpu.push((cpuOf(chromiumPids(), process.pid, false) - before) / (mib / 1024));
      results[index].mibs.push(mib / seconds);
      results[index].events = events;
    }
  }
  await browser.close();
  sink.close();
  fs.rmSync(file);

  console.log(`\nSending ${mib} MiB from Chromium to a local sink, ${IN_FLIGHT} parts at a time; median (range) of ${runs} runs`);
  console.log("part    way                       Chromium CPU s per GiB     MiB/s               progress events");
  for (const [index, { way, part }] of cases.entries()) {
    const { cpu, mibs, events } = results[index];
    console.log(
      `${`${part} MiB`.padEnd(7)} ${way.padEnd(25)} ${spread(cpu, fixed2).padEnd(26)} ${spread(mibs, (v) => v.toFixed(0)).padEnd(19)} ${events}`,
    );
  }
}

await main();
