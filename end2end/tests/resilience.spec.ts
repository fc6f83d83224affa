import { expect, type Page, type Route, test } from "@playwright/test";
import { FilesPage, signUpWithFile } from "./fixtures/files";

const MIB = 1024 * 1024;

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
