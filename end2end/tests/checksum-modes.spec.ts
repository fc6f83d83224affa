import { expect, test } from "@playwright/test";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { AuthPages } from "./fixtures/auth";
import { corruptFirstPut, FilesPage, makeFile, routePartPuts, UploadPage } from "./fixtures/files";
import { openHydrated, watchForErrors } from "./fixtures/pages";

const MIB = 1024 * 1024;
/** HAUL_PART_SIZE of the test servers. */
const PART_SIZE = 5 * MIB;

const md5Base64 = (bytes: Buffer) => createHash("md5").update(bytes).digest("base64");

/** The checksum Haul records for a file of several parts: the SHA-256 of its parts' SHA-256
 * digests, in base64, then `-<parts>`. */
function compositeSha256(path: string): string {
  const bytes = readFileSync(path);
  const outer = createHash("sha256");
  let parts = 0;
  for (let start = 0; start < bytes.length; start += PART_SIZE) {
    outer.update(createHash("sha256").update(bytes.subarray(start, start + PART_SIZE)).digest());
    parts += 1;
  }
  return `${outer.digest("base64")}-${parts}`;
}

/** One part PUT as the browser sent it. */
interface SentPart {
  number: number;
  headers: Record<string, string>;
  body: Buffer;
}

test.describe("with HAUL_S3_CHECKSUM=md5", () => {
  test.use({ baseURL: `http://127.0.0.1:${process.env.HAUL_E2E_MD5_PORT}` });

  test("each part PUT carries its Content-MD5, the file completes whole, and My files says how it was checked", async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const errors = watchForErrors(page);
    const path = testInfo.outputPath("md5.bin");
    // 12 MiB in parts of 5 MiB: 5, 5 and 2.
    const hash = makeFile(path, 12 * MIB);
    await new AuthPages(page).signUpFresh();

    const sent: SentPart[] = [];
    const sends = await routePartPuts(page, async (route, number) => {
      const request = route.request();
      sent.push({
        number,
        headers: await request.allHeaders(),
        body: Buffer.from(request.postDataBuffer() ?? Buffer.alloc(0)),
      });
      await route.continue();
    });
    const upload = new UploadPage(page);
    await upload.open();
    await upload.choose([path]);
    await upload.expectDone("md5.bin");

    expect(sends).toEqual({ 1: 1, 2: 1, 3: 1 });
    const sizes = Object.fromEntries(sent.map((part) => [part.number, part.body.length]));
    expect(sizes).toEqual({ 1: 5 * MIB, 2: 5 * MIB, 3: 2 * MIB });
    for (const part of sent) {
      expect(part.headers["content-md5"], `part ${part.number}`).toBe(md5Base64(part.body));
      expect(part.headers, `part ${part.number}`).not.toHaveProperty("x-amz-checksum-sha256");
    }

    const files = new FilesPage(page);
    await files.expectDownload("md5.bin", hash);
    // The recorded checksum is still the SHA-256 composite, with how the storage checked it.
    const row = files.row("md5.bin");
    await expect(row.locator("code.checksum")).toHaveAttribute("data-checksum", compositeSha256(path));
    const integrity = row.getByText("SHA-256 from your browser; the storage checked each part's MD5");
    await expect(integrity).toBeVisible();
    await expect(integrity).toHaveAttribute("data-integrity", "md5");
    expect(errors).toEqual([]);
  });

  test("a part changed on the way is refused by the store's Content-MD5 check, read again and sent again", async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const path = testInfo.outputPath("md5-corrupted.bin");
    const hash = makeFile(path, 12 * MIB);
    await new AuthPages(page).signUpFresh();

    // Flip one byte of the first PUT of part 1, once; its Content-MD5 stays the true one.
    const md5s: string[] = [];
    const lengths: number[] = [];
    const { sends, answers } = await corruptFirstPut(page, 1, async (route) => {
      const request = route.request();
      lengths.push((request.postDataBuffer() ?? Buffer.alloc(0)).length);
      md5s.push((await request.allHeaders())["content-md5"]);
    });
    const upload = new UploadPage(page);
    await upload.open();
    await upload.choose([path]);
    await upload.expectDone("md5-corrupted.bin");
    expect(answers).toEqual([400]);
    expect(sends).toEqual({ 1: 2, 2: 1, 3: 1 });
    expect(lengths).toEqual([5 * MIB, 5 * MIB]);
    // Both PUTs of part 1 were signed for the part's true MD5.
    const truth = md5Base64(readFileSync(path).subarray(0, PART_SIZE));
    expect(md5s).toEqual([truth, truth]);

    const files = new FilesPage(page);
    await files.expectDownload("md5-corrupted.bin", hash);
  });

  test("a store that refuses Content-MD5 fails the file with its words and what to set, and nothing is retried", async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const path = testInfo.outputPath("md5-refused.bin");
    makeFile(path, 12 * MIB);
    await new AuthPages(page).signUpFresh();

    // Part 1's PUTs are refused as Backblaze B2 refuses headers it does not take.
    const starts: number[] = [];
    const sends = await routePartPuts(page, async (route, number) => {
      starts.push(number);
      if (number === 1) {
        const origin = new URL(page.url()).origin;
        await route.fulfill({
          status: 400,
          headers: { "access-control-allow-origin": origin, "content-type": "application/xml" },
          body:
            '<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code>' +
            "<Message>Unsupported header 'content-md5' received for this API call.</Message></Error>",
        });
      } else {
        await route.continue().catch(() => {});
      }
    });
    const upload = new UploadPage(page);
    await upload.open();
    await upload.choose([path]);
    const row = upload.row("md5-refused.bin");
    await expect(row).toHaveAttribute("data-phase", "Failed");
    await expect(row).toContainText("Unsupported header 'content-md5'");
    await expect(row).toContainText("HAUL_S3_CHECKSUM");

    // Once failed, nothing more goes out: wait a while to see.
    const seen = starts.length;
    await page.waitForTimeout(3_000);
    expect(starts.length, `PUTs by part, in order: ${starts.join(", ")}`).toBe(seen);
    // Part 1 was not sent again; no part was sent twice.
    expect(sends[1]).toBe(1);
    for (const [number, count] of Object.entries(sends)) expect(count, `part ${number}`).toBe(1);

    // The file failed on the server too, in the same words.
    await openHydrated(page, "/files");
    const files = new FilesPage(page);
    await expect(page.getByRole("heading", { name: "My files" })).toBeVisible();
    const stored = files.row("md5-refused.bin");
    await expect(stored).toContainText("Failed:");
    await expect(stored).toContainText("Unsupported header 'content-md5'");
    await expect(stored).toContainText("HAUL_S3_CHECKSUM");
    await expect(page.getByRole("button", { name: "Download md5-refused.bin" })).toHaveCount(0);
  });
});

test.describe("with HAUL_S3_CHECKSUM=none", () => {
  test.use({ baseURL: `http://127.0.0.1:${process.env.HAUL_E2E_NONE_PORT}` });

  test("nothing is hashed or signed but the length, the file completes whole, and My files says it was not checked", async ({
    page,
  }, testInfo) => {
    test.setTimeout(120_000);
    const errors = watchForErrors(page);
    const path = testInfo.outputPath("none.bin");
    const hash = makeFile(path, 12 * MIB);
    await new AuthPages(page).signUpFresh();

    let workers = 0;
    page.on("worker", () => (workers += 1));
    const sent: SentPart[] = [];
    await routePartPuts(page, async (route, number) => {
      const request = route.request();
      sent.push({ number, headers: await request.allHeaders(), body: Buffer.alloc(0) });
      await route.continue();
    });
    const upload = new UploadPage(page);
    await upload.open();
    await upload.choose([path]);
    await upload.expectDone("none.bin");

    expect(sent.map((part) => part.number).sort()).toEqual([1, 2, 3]);
    for (const part of sent) {
      const names = Object.keys(part.headers);
      expect(names.filter((name) => name === "content-md5" || name.startsWith("x-amz-checksum")), `part ${part.number}`).toEqual([]);
    }
    // No part was read to be hashed: the hashing worker never started.
    expect(workers).toBe(0);

    const files = new FilesPage(page);
    await files.expectDownload("none.bin", hash);
    const row = files.row("none.bin");
    await expect(row.locator("code.checksum")).toHaveCount(0);
    const integrity = row.getByText("Not checked: the storage was not asked to check the bytes");
    await expect(integrity).toBeVisible();
    await expect(integrity).toHaveAttribute("data-integrity", "none");
    expect(errors).toEqual([]);
  });
});
