// Hashes file parts off the page's main thread: { id, blob } in, { id, sha256 } (base64) or
// { id, error: "crypto" | "read" } out. Reading the slice and SHA-256 both happen here, so the
// page never waits for either, whatever the part size.
self.onmessage = async (event) => {
  const { id, blob } = event.data;
  if (!self.crypto || !self.crypto.subtle) {
    self.postMessage({ id, error: "crypto" });
    return;
  }
  let bytes;
  try {
    bytes = await blob.arrayBuffer();
  } catch {
    self.postMessage({ id, error: "read" });
    return;
  }
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  let binary = "";
  for (const byte of digest) binary += String.fromCharCode(byte);
  self.postMessage({ id, sha256: btoa(binary) });
};
