// The hashing worker's MD5 (public/md5.js) and the worker itself (public/hash-worker.js),
// run in node without a browser or worker_threads: each script is evaluated in a `vm`
// context standing in for a worker's global scope, with node's Web Crypto, and its answers
// are checked against node's own crypto.
//
//   node --test end2end/unit/hash-worker.test.mjs
//
// The last test measures MD5's speed (256 MiB, three runs, ours and node's native MD5) and
// prints it; it checks only that both give the same digest.

import assert from "node:assert/strict";
import { createHash, randomBytes, webcrypto } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import vm from "node:vm";

const PUBLIC = new URL("../../public/", import.meta.url);
const MD5_JS = readFileSync(new URL("md5.js", PUBLIC), "utf8");
const WORKER_JS = readFileSync(new URL("hash-worker.js", PUBLIC), "utf8");
const MiB = 1 << 20;

/** A fresh `Md5` class, from md5.js evaluated on a global of its own. */
function loadMd5() {
  const context = vm.createContext({});
  vm.runInContext(MD5_JS, context, { filename: "public/md5.js" });
  assert.equal(typeof context.Md5, "function", "md5.js defines Md5");
  return context.Md5;
}

const Md5 = loadMd5();
/** Hex MD5 of `chunks` hashed one after the other, by md5.js and by node. */
const oursOf = (chunks) => {
  const md5 = new Md5();
  for (const chunk of chunks) md5.update(chunk);
  return Buffer.from(md5.digest()).toString("hex");
};
const ours = (...chunks) => oursOf(chunks);
const native = (...chunks) => {
  const hash = createHash("md5");
  for (const chunk of chunks) hash.update(chunk);
  return hash.digest("hex");
};

test("md5.js defines Md5 and nothing else on its global", () => {
  const context = vm.createContext({});
  const before = Object.keys(vm.runInContext("globalThis", context));
  vm.runInContext(MD5_JS, context);
  const after = Object.keys(vm.runInContext("globalThis", context));
  assert.deepEqual(after.filter((name) => !before.includes(name)), ["Md5"]);
});

test("RFC 1321 test suite (A.5) and the empty input", () => {
  const suite = {
    "": "d41d8cd98f00b204e9800998ecf8427e",
    a: "0cc175b9c0f1b6a831c399e269772661",
    abc: "900150983cd24fb0d6963f7d28e17f72",
    "message digest": "f96b697d7cb7938d525a2f31aaf161d0",
    abcdefghijklmnopqrstuvwxyz: "c3fcd3d76192e4007dfb496cca67e13b",
    ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789:
      "d174ab98d277d9f5a5611c2c9f419d9f",
    ["1234567890".repeat(8)]: "57edf4a22be3c955ac49da2e2107b67a",
  };
  for (const [input, expected] of Object.entries(suite)) {
    const bytes = new TextEncoder().encode(input);
    assert.equal(ours(bytes), expected, JSON.stringify(input));
    assert.equal(native(bytes), expected, `node agrees on ${JSON.stringify(input)}`);
  }
  assert.equal(ours(), "d41d8cd98f00b204e9800998ecf8427e", "no update at all");
  assert.equal(ours(new Uint8Array(0), new Uint8Array(0)), "d41d8cd98f00b204e9800998ecf8427e");
});

test("random inputs around the block and padding boundaries, up to 64 MiB", () => {
  const sizes = [1, 55, 56, 57, 63, 64, 65, 119, 120, 127, 128, 129, MiB + 3, 64 * MiB];
  for (const size of sizes) {
    const bytes = randomBytes(size);
    assert.equal(ours(bytes), native(bytes), `${size} bytes`);
  }
});

test("a view that does not start on a 4-byte boundary (the byte-by-byte path)", () => {
  const backing = randomBytes(MiB + 67);
  for (const offset of [1, 2, 3, 5]) {
    const view = new Uint8Array(backing.buffer, backing.byteOffset + offset, MiB + 61);
    assert.equal(ours(view), native(view), `offset ${offset}`);
  }
});

test("hashing in chunks gives what hashing at once does", () => {
  const bytes = randomBytes(3 * MiB + 17);
  const whole = native(bytes);
  assert.equal(ours(bytes), whole);
  // Chunk sizes that split blocks every way, aligned or not, and empty chunks.
  for (const size of [1, 3, 63, 64, 65, 1000, 4096, 65_537, MiB - 1, MiB]) {
    const chunks = [];
    for (let pos = 0; pos < bytes.length; pos += size) chunks.push(bytes.subarray(pos, pos + size));
    chunks.splice(1, 0, bytes.subarray(0, 0));
    assert.equal(oursOf(chunks), whole, `chunks of ${size}`);
  }
  // Random cuts.
  for (let round = 0; round < 20; round++) {
    const md5 = new Md5();
    let pos = 0;
    while (pos < bytes.length) {
      const size = Math.floor(Math.random() * 200_000);
      md5.update(bytes.subarray(pos, pos + size));
      pos += size;
    }
    assert.equal(Buffer.from(md5.digest()).toString("hex"), whole, `round ${round}`);
  }
});

test("the bit count past 32 bits: 640 MiB + 3 bytes, fed 64 MiB at a time", () => {
  // 640 MiB is 5 * 2^30 bits: the high word of the length is 1, as in every part of 512 MiB
  // or more (parts go up to 5 GiB).
  const block = randomBytes(64 * MiB);
  const md5 = new Md5();
  const hash = createHash("md5");
  for (let i = 0; i < 10; i++) {
    md5.update(block);
    hash.update(block);
  }
  md5.update(block.subarray(0, 3));
  hash.update(block.subarray(0, 3));
  assert.equal(Buffer.from(md5.digest()).toString("hex"), hash.digest("hex"));
});

test("a finished hasher refuses more", () => {
  const md5 = new Md5();
  md5.digest();
  assert.throws(() => md5.update(new Uint8Array(1)));
  assert.throws(() => md5.digest());
});

/**
 * hash-worker.js on a stand-in worker global: `ask` posts a request and resolves with the
 * answer; `imports` lists importScripts calls; `failImports` makes them throw (as a load
 * refused by the network or a Content-Security-Policy does).
 */
function startWorker({ patienceMs } = {}) {
  const answers = [];
  const waiting = [];
  const imports = [];
  const worker = { imports, failImports: false };
  const global = vm.createContext({
    crypto: webcrypto,
    btoa,
    // A worker's timers; `patienceMs` stands in for any wait of 10 s or more.
    setTimeout: (callback, ms, ...rest) =>
      setTimeout(callback, patienceMs !== undefined && ms >= 10_000 ? patienceMs : ms, ...rest),
    clearTimeout,
    postMessage(message) {
      const next = waiting.shift();
      if (next) next(message);
      else answers.push(message);
    },
    importScripts(url) {
      imports.push(url);
      if (worker.failImports) throw new Error(`NetworkError: ${url} was not loaded`);
      assert.equal(url, "/md5.js");
      vm.runInContext(MD5_JS, global, { filename: "public/md5.js" });
    },
  });
  vm.runInContext("globalThis.self = globalThis;", global);
  vm.runInContext(WORKER_JS, global, { filename: "public/hash-worker.js" });
  worker.ask = (request) => {
    global.onmessage({ data: request });
    return answers.length > 0
      ? Promise.resolve(answers.shift())
      : new Promise((resolve) => waiting.push(resolve));
  };
  return worker;
}

const sha256 = (bytes) => createHash("sha256").update(bytes).digest("base64");
const md5Base64 = (bytes) => createHash("md5").update(bytes).digest("base64");

/** A blob whose stream is a byte stream, as browsers' are: read into the worker's buffer. */
function byteBlob(bytes, chunk = 128 * 1024) {
  return {
    size: bytes.length,
    stream() {
      let pos = 0;
      return new ReadableStream({
        type: "bytes",
        autoAllocateChunkSize: chunk,
        pull(controller) {
          const request = controller.byobRequest;
          const view = request.view;
          const n = Math.min(view.byteLength, chunk, bytes.length - pos);
          if (n === 0) {
            controller.close();
            request.respond(0);
            return;
          }
          new Uint8Array(view.buffer, view.byteOffset, n).set(bytes.subarray(pos, pos + n));
          pos += n;
          request.respond(n);
        },
      });
    },
    arrayBuffer: () => assert.fail("a byte-stream blob is read through its stream"),
  };
}

test("worker: without md5 the answer is as before, and md5.js is not loaded", async () => {
  const worker = startWorker();
  const bytes = randomBytes(200_000);
  const answer = await worker.ask({ id: 1, blob: byteBlob(bytes) });
  assert.deepEqual({ ...answer }, { id: 1, sha256: sha256(bytes) });
  const off = await worker.ask({ id: 2, blob: byteBlob(bytes), md5: false });
  assert.deepEqual({ ...off }, { id: 2, sha256: sha256(bytes) });
  assert.deepEqual(worker.imports, []);
});

test("worker: md5: true adds the base64 MD5 (a Content-MD5 value); md5.js loads once", async () => {
  const worker = startWorker();
  // Large part first, then smaller ones: the shared buffer is reused, and a part's digest
  // covers its own bytes only, not what is left in the buffer past it.
  for (const [id, size] of [[1, 5 * MiB + 1], [2, 1000], [3, 0], [4, MiB]]) {
    const bytes = randomBytes(size);
    const answer = await worker.ask({ id, blob: byteBlob(bytes), md5: true });
    assert.deepEqual({ ...answer }, { id, sha256: sha256(bytes), md5: md5Base64(bytes) });
    assert.equal(Buffer.from(answer.md5, "base64").length, 16);
  }
  assert.deepEqual(worker.imports, ["/md5.js"]);
});

test("worker: a blob without a byte stream is read whole, and hashed the same", async () => {
  const worker = startWorker();
  const bytes = randomBytes(300_001);
  const blob = new Blob([bytes]);
  const answer = await worker.ask({ id: 7, blob, md5: true });
  assert.deepEqual({ ...answer }, { id: 7, sha256: sha256(bytes), md5: md5Base64(bytes) });
});

test("worker: a read that stalls is cancelled and the part read again on a fresh stream", async () => {
  const worker = startWorker({ patienceMs: 50 });
  const bytes = randomBytes(300_001);
  const real = byteBlob(bytes);
  let streams = 0;
  let cancelled = 0;
  const blob = {
    size: bytes.length,
    // The first stream gives 128 KiB, then nothing ever again.
    stream() {
      streams += 1;
      if (streams > 1) return real.stream();
      let given = false;
      return new ReadableStream({
        type: "bytes",
        pull(controller) {
          if (given) return new Promise(() => {});
          given = true;
          const request = controller.byobRequest;
          const n = 128 * 1024;
          new Uint8Array(request.view.buffer, request.view.byteOffset, n).set(bytes.subarray(0, n));
          request.respond(n);
        },
        cancel() {
          cancelled += 1;
        },
      });
    },
    arrayBuffer: () => assert.fail("a second stream suffices"),
  };
  const answer = await worker.ask({ id: 4, blob });
  assert.deepEqual({ ...answer }, { id: 4, sha256: sha256(bytes) });
  assert.equal(streams, 2);
  assert.equal(cancelled, 1);
});

test("worker: errors keep their shape, and later requests are answered", async () => {
  const worker = startWorker();
  worker.failImports = true;
  const bytes = randomBytes(1000);
  assert.deepEqual({ ...(await worker.ask({ id: 1, blob: byteBlob(bytes), md5: true })) }, {
    id: 1,
    error: "crypto",
  });
  // SHA-256 alone needs no md5.js.
  assert.deepEqual({ ...(await worker.ask({ id: 2, blob: byteBlob(bytes) })) }, {
    id: 2,
    sha256: sha256(bytes),
  });
  // A failed load is tried again.
  worker.failImports = false;
  assert.deepEqual({ ...(await worker.ask({ id: 3, blob: byteBlob(bytes), md5: true })) }, {
    id: 3,
    sha256: sha256(bytes),
    md5: md5Base64(bytes),
  });
  assert.deepEqual(worker.imports, ["/md5.js", "/md5.js"]);
  const unreadable = {
    size: 10,
    stream: () => assert.fail("no stream"),
    arrayBuffer: () => Promise.reject(new Error("NotReadableError")),
  };
  assert.deepEqual({ ...(await worker.ask({ id: 4, blob: unreadable, md5: true })) }, {
    id: 4,
    error: "read",
  });
  // A blob that ends early (the file changed while read) is a read error too.
  const short = { ...byteBlob(bytes), size: 2000 };
  assert.deepEqual({ ...(await worker.ask({ id: 5, blob: short, md5: true })) }, {
    id: 5,
    error: "read",
  });
});

test("MD5 speed over 256 MiB: ours and node's native, median of 3 runs", () => {
  const size = 256 * MiB;
  const bytes = randomBytes(size);
  const measure = (name, hash) => {
    const runs = [];
    let digest;
    for (let run = 0; run < 3; run++) {
      const cpu = process.cpuUsage();
      const start = process.hrtime.bigint();
      digest = hash(bytes);
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const used = process.cpuUsage(cpu);
      runs.push({
        mibPerSecond: size / MiB / seconds,
        cpuMsPerGiB: ((used.user + used.system) / 1000) * (1024 / (size / MiB)),
      });
    }
    const median = (key) => runs.map((r) => r[key]).sort((a, b) => a - b)[1];
    const range = (key) => {
      const values = runs.map((r) => r[key]);
      return `${Math.min(...values).toFixed(0)}-${Math.max(...values).toFixed(0)}`;
    };
    console.log(
      `${name.padEnd(12)} ${median("mibPerSecond").toFixed(0)} MiB/s ` +
        `(${range("mibPerSecond")}), ${median("cpuMsPerGiB").toFixed(0)} CPU ms/GiB ` +
        `(${range("cpuMsPerGiB")}); 256 MiB, 3 runs, median (range)`,
    );
    return digest;
  };
  const a = measure("md5.js", (b) => ours(b));
  const b = measure("node native", (b) => native(b));
  assert.equal(a, b);
});
