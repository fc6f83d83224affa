// Hashes file parts off the page's main thread: { id, blob } in, { id, sha256 } (base64) or
// { id, error: "crypto" | "read" } out. Reading the slice and SHA-256 both happen here, so the
// page never waits for either, whatever the part size.
//
// Parts are read into one buffer, reused part after part, so hashing a file holds one part's
// bytes whatever its size. (A fresh buffer per part, as `blob.arrayBuffer()` gives, is freed
// only at the worker's next garbage collection: hundreds of MiB of read parts piled up
// between collections.) Requests are answered one at a time, in order.

let buffer = new ArrayBuffer(0);
let queue = Promise.resolve();

self.onmessage = (event) => {
  // Each answer is posted whatever happens, and a failure never stops the requests after it.
  queue = queue.then(() => answer(event.data)).catch(() => {});
};

async function answer({ id, blob }) {
  if (!self.crypto || !self.crypto.subtle) {
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
  let digest;
  try {
    digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  } catch {
    self.postMessage({ id, error: "crypto" });
    return;
  }
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  self.postMessage({ id, sha256: btoa(binary) });
}

/** The bytes of `blob`, read into the shared buffer (grown when too small). */
async function read(blob) {
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
    // `min`, one read fills the whole part: without it, a read ends with whatever the file's
    // pipe holds (about 128 KiB), and the 130 reads of each part left the worker a promise and
    // its results to collect apiece. A browser that ignores `min` goes round this loop.
    const left = blob.size - filled;
    const { value, done } = await reader.read(new Uint8Array(buffer, filled, left), { min: left });
    if (done) break;
    buffer = value.buffer;
    filled += value.byteLength;
  }
  reader.releaseLock();
  if (filled !== blob.size) throw new Error("the file changed while it was read");
  return new Uint8Array(buffer, 0, filled);
}
