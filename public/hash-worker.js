// Hashes file parts off the page's main thread: { id, blob, md5 } in, { id, sha256 } (base64)
// or { id, error: "crypto" | "read" } out. With `md5: true` (absent is false) the answer also
// carries `md5`, the base64 of the part's 16-byte MD5, what a Content-MD5 header holds (for
// stores that refuse SHA-256 checksums). Reading the slice and both digests happen here, so
// the page never waits for any of them, whatever the part size.
//
// Web Crypto has no MD5: /md5.js (our own, see there) is loaded the first time one is asked
// for, so a worker that only does SHA-256 never fetches it. Both digests are of the one read
// of the part: SHA-256 goes to Web Crypto (which takes its own copy of the bytes and hashes
// off this thread), and MD5 runs here meanwhile, over the shared buffer as it is.
//
// Parts are read into one buffer, reused part after part, so hashing a file holds one part's
// bytes whatever its size (a read that stalls is given up and tried again: see `read`). (A fresh buffer per part, as `blob.arrayBuffer()` gives, is freed
// only at the worker's next garbage collection: hundreds of MiB of read parts piled up
// between collections.) Requests are answered one at a time, in order.

let buffer = new ArrayBuffer(0);
let queue = Promise.resolve();

self.onmessage = (event) => {
  // Each answer is posted whatever happens, and a failure never stops the requests after it.
  queue = queue.then(() => answer(event.data)).catch(() => {});
};

async function answer({ id, blob, md5 = false }) {
  if (!self.crypto || !self.crypto.subtle || (md5 && !loadMd5())) {
    self.postMessage({ id, error: "crypto" });
    return;
  }
  let bytes;
  try {
    bytes = await read(blob);
  } catch {
    self.postMessage({ id, error: "read" });
    return;
  }
  let sha256;
  let md5Digest;
  try {
    // Started first, so that it hashes while MD5 does here; the promise is awaited right
    // after MD5, before anything else can run, so its failure is never left unhandled.
    const sha = crypto.subtle.digest("SHA-256", bytes);
    if (md5) md5Digest = new self.Md5().update(bytes).digest();
    sha256 = new Uint8Array(await sha);
  } catch {
    self.postMessage({ id, error: "crypto" });
    return;
  }
  const reply = { id, sha256: base64(sha256) };
  if (md5) reply.md5 = base64(md5Digest);
  self.postMessage(reply);
}

/** Whether `Md5` is defined, loading /md5.js for it the first time. A load that failed is
 * tried again on the next request that asks for an MD5. */
function loadMd5() {
  if (typeof self.Md5 !== "function") {
    try {
      importScripts("/md5.js");
    } catch {
      return false;
    }
  }
  return typeof self.Md5 === "function";
}

function base64(digest) {
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** The bytes of `blob`, read into the shared buffer (grown when too small). A read that
 * stalls is given up and the part read again from its start on a fresh stream, up to
 * `READ_TRIES` times; then once more as one `arrayBuffer()`, another path through the
 * browser. */
async function read(blob) {
  for (let attempt = 0; attempt < READ_TRIES; attempt++) {
    const bytes = await readOnce(blob);
    if (bytes) return bytes;
  }
  return new Uint8Array(await blob.arrayBuffer());
}

// Chromium's blob streams now and then stop for good in the middle of a part: seen on 64 MiB
// parts, in about one 4 GiB upload in three, after 32 MiB of the part had arrived, until the
// page's one-minute watchdog replaced the worker. A read is given `READ_PATIENCE_MS` to bring
// its `READ_CHUNK` (the slowest disk this still reads from is 0.4 MB/s); past that it is
// cancelled and the part read again.
const READ_CHUNK = 4 * 1024 * 1024;
const READ_PATIENCE_MS = 10_000;
const READ_TRIES = 3;

/** One read of `blob` through its byte stream, or null when a read stalled (the shared buffer
 * is then lost with the cancelled stream: a new one is made). */
async function readOnce(blob) {
  let reader;
  try {
    reader = blob.stream().getReader({ mode: "byob" });
  } catch {
    // A browser whose blob streams are not byte streams: a fresh buffer each time.
    return new Uint8Array(await blob.arrayBuffer());
  }
  if (buffer.byteLength < blob.size) buffer = new ArrayBuffer(blob.size);
  let filled = 0;
  while (filled < blob.size) {
    // Each read hands the buffer over and gives it back: keep the one it gives back. With
    // `min`, a read brings a whole chunk: without it, a read ends with whatever the file's
    // pipe holds (about 128 KiB), and the 130 reads of each 16 MiB part left the worker a
    // promise and its results to collect apiece. A browser that ignores `min` goes round
    // this loop more often.
    const left = blob.size - filled;
    const chunk = reader.read(new Uint8Array(buffer, filled, left), { min: Math.min(left, READ_CHUNK) });
    let timer;
    const stalled = new Promise((resolve) => {
      timer = setTimeout(() => resolve(null), READ_PATIENCE_MS);
    });
    const result = await Promise.race([chunk, stalled]);
    clearTimeout(timer);
    if (result === null) {
      chunk.catch(() => {});
      reader.cancel().catch(() => {});
      buffer = new ArrayBuffer(blob.size);
      return null;
    }
    const { value, done } = result;
    if (done) break;
    buffer = value.buffer;
    filled += value.byteLength;
  }
  reader.releaseLock();
  if (filled !== blob.size) throw new Error("the file changed while it was read");
  return new Uint8Array(buffer, 0, filled);
}
