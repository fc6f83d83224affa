import { expect, test } from "@playwright/test";

// What the browser downloads before the page is live: compressed, and cached only as long as
// it is right.

test("the bundle goes out compressed and is revalidated, never served stale", async ({ request }) => {
  for (const path of ["/pkg/haul.wasm", "/pkg/haul.js", "/pkg/haul.css"]) {
    const response = await request.get(path, { headers: { "accept-encoding": "br, gzip" } });
    expect(response.status(), path).toBe(200);
    expect(response.headers()["content-encoding"], path).toBe("br");
    expect(response.headers()["cache-control"], path).toBe("public, no-cache");
    const lastModified = response.headers()["last-modified"];
    expect(lastModified, path).toBeTruthy();
    const again = await request.get(path, { headers: { "if-modified-since": lastModified } });
    expect(again.status(), path).toBe(304);
  }
  const gzip = await request.get("/pkg/haul.wasm", { headers: { "accept-encoding": "gzip" } });
  expect(gzip.headers()["content-encoding"]).toBe("gzip");
});

test("pages are compressed and always asked for again", async ({ request }) => {
  const page = await request.get("/", { headers: { "accept-encoding": "br, gzip" } });
  expect(page.status()).toBe(200);
  expect(page.headers()["content-encoding"]).toBe("br");
  expect(page.headers()["cache-control"]).toBe("no-cache");
});
