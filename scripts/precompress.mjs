// Finishes the bundle scripts/site.sh built (or cargo-leptos, in target/site/pkg):
// 1. fingerprints it: copies haul.js, haul.wasm and haul.css to haul.<hash>.* (one hash of the
//    three, so they always go together) and writes bundle.json, which the server reads to link
//    those names; a browser may then keep them for a year (a new build has new names);
// 2. writes a brotli (.br) and a gzip (.gz) copy of every wasm, JS and CSS file, at the best
//    compression, which the server sends as they are.
// Usage: node scripts/precompress.mjs DIR
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";

const dir = process.argv[2];
if (!dir) {
  console.error("usage: node scripts/precompress.mjs DIR");
  process.exit(2);
}
const NAME = "haul";
const parts = ["js", "wasm", "css"].map((ext) => path.join(dir, `${NAME}.${ext}`));
if (parts.every((file) => fs.existsSync(file))) {
  const digest = createHash("sha256");
  for (const file of parts) digest.update(fs.readFileSync(file));
  const fingerprinted = `${NAME}.${digest.digest("hex").slice(0, 16)}`;
  // Earlier builds' fingerprinted files go: only this build's are linked.
  for (const name of fs.readdirSync(dir)) {
    if (/^haul\.[0-9a-f]{16}\./.test(name) && !name.startsWith(`${fingerprinted}.`)) {
      fs.rmSync(path.join(dir, name));
    }
  }
  for (const file of parts) {
    fs.copyFileSync(file, path.join(dir, `${fingerprinted}${path.extname(file)}`));
  }
  fs.writeFileSync(path.join(dir, "bundle.json"), JSON.stringify({ output_name: fingerprinted }) + "\n");
  console.log(`fingerprinted as ${fingerprinted}`);
}
for (const name of fs.readdirSync(dir)) {
  if (!/\.(wasm|js|css)$/.test(name)) continue;
  const file = path.join(dir, name);
  const bytes = fs.readFileSync(file);
  const br = zlib.brotliCompressSync(bytes, {
    params: {
      [zlib.constants.BROTLI_PARAM_QUALITY]: zlib.constants.BROTLI_MAX_QUALITY,
      [zlib.constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gz = zlib.gzipSync(bytes, { level: 9 });
  fs.writeFileSync(`${file}.br`, br);
  fs.writeFileSync(`${file}.gz`, gz);
  console.log(`${name}: ${bytes.length} bytes, brotli ${br.length}, gzip ${gz.length}`);
}
