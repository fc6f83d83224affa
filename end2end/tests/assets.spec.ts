import { expect, test } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";

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

test("the page links the fingerprinted bundle, which browsers keep for a year", async ({ request }) => {
  const html = await (await request.get("/")).text();
  const css = html.match(/\/pkg\/(haul\.[0-9a-f]{16})\.css/);
  expect(css, html).not.toBeNull();
  const name = css![1];
  // The hydration script loads the JS and wasm under the same fingerprint.
  expect(html).toContain(`"${name}"`);
  for (const ext of ["js", "wasm", "css"]) {
    const response = await request.get(`/pkg/${name}.${ext}`, { headers: { "accept-encoding": "br, gzip" } });
    expect(response.status(), ext).toBe(200);
    expect(response.headers()["content-encoding"], ext).toBe("br");
    expect(response.headers()["cache-control"], ext).toBe("public, max-age=31536000, immutable");
  }
});

test("pages are compressed and always asked for again", async ({ request }) => {
  const page = await request.get("/", { headers: { "accept-encoding": "br, gzip" } });
  expect(page.status()).toBe(200);
  expect(page.headers()["content-encoding"]).toBe("br");
  expect(page.headers()["cache-control"]).toBe("no-cache");
});

// The budget: on a 20 Mbit/s link, 500 KB is 0.2 s.
const WASM_BUDGET = 400 * 1000;
const FIRST_VISIT_BUDGET = 500 * 1000;

test("a first visit to /upload stays within the download budget", async ({ browser }) => {
  const context = await browser.newContext();
  const signedIn = await context.newPage();
  await new AuthPages(signedIn).signUpFresh();
  // A new page with nothing cached: everything it needs comes over the wire.
  const page = await context.newPage();
  const cdp = await context.newCDPSession(page);
  await cdp.send("Network.enable");
  await cdp.send("Network.setCacheDisabled", { cacheDisabled: true });
  const urls = new Map<string, string>();
  const sizes = new Map<string, number>();
  cdp.on("Network.responseReceived", (event: { requestId: string; response: { url: string } }) =>
    urls.set(event.requestId, event.response.url),
  );
  cdp.on("Network.loadingFinished", (event: { requestId: string; encodedDataLength: number }) =>
    sizes.set(event.requestId, event.encodedDataLength),
  );
  await page.goto("/upload");
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const total = [...sizes.values()].reduce((a, b) => a + b, 0);
  const wasm = [...sizes.entries()]
    .filter(([id]) => urls.get(id)?.endsWith(".wasm"))
    .reduce((sum, [, size]) => sum + size, 0);
  console.log(`first visit to /upload: ${total} bytes on the wire, of which wasm ${wasm}`);
  expect(wasm).toBeGreaterThan(0);
  expect(wasm).toBeLessThanOrEqual(WASM_BUDGET);
  expect(total).toBeLessThanOrEqual(FIRST_VISIT_BUDGET);
});
