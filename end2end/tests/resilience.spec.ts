import { expect, type Page, type Route, test } from "@playwright/test";
import { FilesPage, signUpWithFile } from "./fixtures/files";

const MIB = 1024 * 1024;

/** What a proxy or load balancer between the page and the server answers in its own words. */
function proxyAnswer(status: number) {
  return status === 429
    ? { status, contentType: "text/plain", body: "Too Many Requests" }
    : { status, contentType: "text/html", body: `<html><body><h1>${status}</h1><p>The proxy got no answer.</p></body></html>` };
}

/** Answers the first calls of server function `name` with these statuses, as a proxy on the
 * way would; later calls reach the server. Returns the calls made so far. */
async function answerByProxy(page: Page, name: string, statuses: number[]): Promise<{ calls: number }> {
  const seen = { calls: 0 };
  await page.route(`**/api/${name}`, async (route) => {
    seen.calls += 1;
    const status = statuses[seen.calls - 1];
    if (status === undefined) await route.continue();
    else await route.fulfill(proxyAnswer(status));
  });
  return seen;
}

test("a proxy's 502 page and 429 while parts are signed are waited out, and the file arrives whole", async ({
  page,
}, testInfo) => {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, "gateway-sign.bin", 12 * MIB);
  const signs = await answerByProxy(page, "sign_parts", [502, 429]);
  await upload.choose([path]);
  await upload.expectDone("gateway-sign.bin");
  expect(signs.calls).toBeGreaterThanOrEqual(3);
  await new FilesPage(page).expectDownload("gateway-sign.bin", hash);
});

test("a proxy's 502 and 504 pages in answer to the completion are waited out, and the file is done", async ({
  page,
}, testInfo) => {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, "gateway-complete.bin", 12 * MIB);
  const completions = await answerByProxy(page, "complete_upload", [502, 504]);
  await upload.choose([path]);
  await upload.expectDone("gateway-complete.bin");
  expect(completions.calls).toBe(3);
  await new FilesPage(page).expectDownload("gateway-complete.bin", hash);
});

/** Part PUTs to S3 (their URLs carry `partNumber`). */
const isPartPut = (url: URL) => url.searchParams.has("partNumber");

/** Answers part `number`'s PUTs 200 with an ETag, without them reaching S3, while `fake` says
 * so (given how many PUTs the part has had); the other PUTs go on to S3. Returns the PUTs
 * each part had. */
async function answerPutsForS3(
  page: Page,
  number: number,
  fake: (count: number) => boolean,
): Promise<Record<number, number>> {
  const sends: Record<number, number> = {};
  await page.route(isPartPut, async (route: Route) => {
    const part = Number(new URL(route.request().url()).searchParams.get("partNumber"));
    sends[part] = (sends[part] ?? 0) + 1;
    if (part === number && fake(sends[part])) {
      const origin = new URL(page.url()).origin;
      await route.fulfill({
        status: 200,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-expose-headers": "ETag",
          etag: '"0123456789abcdef0123456789abcdef"',
        },
        body: "",
      });
    } else {
      await route.continue();
    }
  });
  return sends;
}

/** The statuses `complete_upload` answered, in order. */
function completionStatuses(page: Page): number[] {
  const statuses: number[] = [];
  page.on("response", (response) => {
    if (response.url().endsWith("/api/complete_upload")) statuses.push(response.status());
  });
  return statuses;
}

test("a part S3 never got, though its PUT was answered, is sent when completion says it is missing", async ({
  page,
}, testInfo) => {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, "missing.bin", 12 * MIB);
  // Part 2's first PUT is answered 200 on the way, and never reaches S3.
  const sends = await answerPutsForS3(page, 2, (count) => count === 1);
  const completions = completionStatuses(page);
  await upload.choose([path]);
  await upload.expectDone("missing.bin");
  // Completion said part 2 was missing (409); it was sent again, and the file completed.
  expect(completions).toEqual([409, 200]);
  expect(sends).toEqual({ 1: 1, 2: 2, 3: 1 });
  await new FilesPage(page).expectDownload("missing.bin", hash);
});

test("a part that never reaches S3 fails the file after three more rounds, saying which", async ({
  page,
}, testInfo) => {
  const { path, upload } = await signUpWithFile(page, testInfo, "never.bin", 12 * MIB);
  const sends = await answerPutsForS3(page, 2, () => true);
  const completions = completionStatuses(page);
  await upload.choose([path]);
  await expect(upload.row("never.bin")).toHaveAttribute("data-phase", "Failed");
  await expect(upload.row("never.bin")).toContainText(
    "Part 2 of 3 has not arrived yet. What was missing was sent again 3 times and never reached the storage.",
  );
  expect(completions).toEqual([409, 409, 409, 409]);
  expect(sends).toEqual({ 1: 1, 2: 4, 3: 1 });
});
