import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";
import { countStoredParts, FilesPage, makeFile, sha256OfFile, signUpWithFile, throttleUploads, UploadPage } from "./fixtures/files";
import { watchForErrors } from "./fixtures/pages";
import { readFileSync } from "node:fs";

const MIB = 1024 * 1024;

test("upload a small and a multipart file, see them listed, download, rename and delete", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const errors = watchForErrors(page);
  const small = testInfo.outputPath("notes.txt");
  const big = testInfo.outputPath("big.bin");
  makeFile(small, 1234);
  // 40 MiB with the test server's 5 MiB parts: eight parts, four in flight.
  const bigHash = makeFile(big, 40 * MIB);

  await new AuthPages(page).signUpFresh();
  await page.getByRole("link", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Upload files" })).toBeVisible();

  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([small, big]);
  await expect(upload.row("big.bin")).toBeVisible();
  await upload.expectDone("notes.txt");
  await upload.expectDone("big.bin");
  await expect(upload.row("big.bin")).toContainText("40.0 MiB of 40.0 MiB");

  await page.getByRole("link", { name: "See all your files" }).click();
  const files = new FilesPage(page);
  await expect(files.row("big.bin")).toContainText("Complete");
  await expect(files.row("big.bin")).toContainText("40.0 MiB");
  await expect(files.row("notes.txt")).toContainText("1.2 KiB");
  await expect(page.getByText("40.0 MiB of 100.0 GiB used")).toBeVisible();

  const downloaded = await files.download("big.bin");
  expect(sha256OfFile(downloaded)).toBe(bigHash);

  await files.rename("notes.txt", "renamed notes.txt");
  await expect(files.row("renamed notes.txt")).toBeVisible();
  await expect(files.row("notes.txt")).toHaveCount(0);

  await files.delete("big.bin");
  await expect(files.row("big.bin")).toHaveCount(0);
  await expect(page.getByText("1.2 KiB of 100.0 GiB used")).toBeVisible();

  // A reload reads the same from the database.
  await files.open();
  await expect(files.row("renamed notes.txt")).toBeVisible();
  await expect(files.row("big.bin")).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("upload and files pages send strangers to sign in", async ({ page }) => {
  await page.goto("/upload");
  await expect(page).toHaveURL("/signin?next=/upload");
  await page.goto("/files");
  await expect(page).toHaveURL("/signin?next=/files");
});

test("a file with a name the server refuses shows why in the queue", async ({ page }, testInfo) => {
  // U+3164 HANGUL FILLER: Linux allows it in a name, Haul refuses it as invisible.
  const bad = "bad\u3164name.bin";
  // "?" is an ordinary character on Linux and macOS: accepted.
  const fine = "what?.txt";
  const path = testInfo.outputPath(bad);
  makeFile(path, 100);
  const finePath = testInfo.outputPath(fine);
  makeFile(finePath, 100);
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path, finePath]);
  await expect(upload.row(bad)).toHaveAttribute("data-phase", "Failed");
  await expect(upload.row(bad)).toContainText(
    "File names cannot contain invisible characters (U+3164, a Hangul filler, at position 4).",
  );
  await upload.expectDone(fine);
  const files = new FilesPage(page);
  await files.open();
  await expect(files.row(fine)).toContainText("Complete");
  await expect(page.getByRole("row")).toHaveCount(2);
});

test("files dropped on the page are uploaded", async ({ page }) => {
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();

  // What a drag from the desktop delivers: a DataTransfer holding files.
  const dropped = await page.evaluateHandle(() => {
    const data = new DataTransfer();
    data.items.add(new File(["dropped bytes"], "dropped.txt", { type: "text/plain" }));
    return data;
  });
  await page.getByRole("region", { name: "Drop files to upload" }).dispatchEvent("drop", { dataTransfer: dropped });
  await upload.expectDone("dropped.txt");

  const files = new FilesPage(page);
  await files.open();
  await expect(files.row("dropped.txt")).toContainText("text/plain");
  await expect(files.row("dropped.txt")).toContainText("13 B");
});

/** Signs up and starts uploading a 40 MiB file at 8 MiB/s; returns once S3 holds `parts` of its 8 parts. */
async function startSlowUpload(page: Page, testInfo: TestInfo, name: string, parts: number) {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, name, 40 * MIB);
  const cdp = await throttleUploads(page, 8 * MIB);
  const before = countStoredParts(page);
  await upload.choose([path]);
  await expect.poll(() => before.count, { timeout: 30_000 }).toBeGreaterThanOrEqual(parts);
  return { path, hash, upload, cdp, before };
}

test("an upload interrupted by a reload resumes without sending its parts again", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path: big, hash, upload, cdp, before } = await startSlowUpload(page, testInfo, "resume.bin", 2);
  await page.reload();
  const stored = before.count;
  await cdp.detach();

  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  const unfinished = page.getByRole("region", { name: "Unfinished uploads" });
  await expect(unfinished).toContainText("resume.bin");

  const after = countStoredParts(page);
  await upload.choose([big]);
  await upload.expectDone("resume.bin");
  // Eight parts in all; those S3 already held were not sent again.
  expect(after.count).toBeLessThanOrEqual(8 - stored);
  await expect(unfinished).toHaveCount(0);

  await new FilesPage(page).expectDownload("resume.bin", hash);
});

test("an upload can be paused and resumed", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { hash, upload, cdp, before } = await startSlowUpload(page, testInfo, "pause.bin", 1);
  // By keyboard: the focus stays on the button, which now says Resume.
  await page.getByRole("button", { name: "Pause pause.bin" }).focus();
  await page.keyboard.press("Enter");
  await expect(upload.row("pause.bin")).toHaveAttribute("data-phase", "Paused");
  await expect(page.getByRole("button", { name: "Resume pause.bin" })).toBeFocused();
  const stored = before.count;
  await cdp.detach();

  const after = countStoredParts(page);
  await page.keyboard.press("Enter");
  await expect(upload.row("pause.bin")).not.toHaveAttribute("data-phase", "Paused");
  await upload.expectDone("pause.bin");
  // Eight parts in all; those S3 held at the pause were not sent again.
  expect(stored).toBeGreaterThanOrEqual(1);
  expect(after.count).toBeLessThanOrEqual(8 - stored);

  await new FilesPage(page).expectDownload("pause.bin", hash);
});

test("the same file picked again while its upload is in the queue is not queued twice", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path, hash, upload, cdp } = await startSlowUpload(page, testInfo, "twice.bin", 1);
  await page.getByRole("button", { name: "Pause twice.bin" }).click();
  await expect(upload.row("twice.bin")).toHaveAttribute("data-phase", "Paused");
  await cdp.detach();

  // Its upload is remembered: a second row would run the same upload beside the first.
  await upload.choose([path]);
  await expect(page.getByRole("status").filter({ hasText: "Already in the queue: twice.bin" })).toBeVisible();
  await expect(upload.row("twice.bin")).toHaveCount(1);

  await page.getByRole("button", { name: "Resume twice.bin" }).click();
  await upload.expectDone("twice.bin");
  await new FilesPage(page).expectDownload("twice.bin", hash);
});

test("a pause stops the parts waiting for a connection too", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path: first, upload } = await signUpWithFile(page, testInfo, "first.bin", 40 * MIB);
  const second = testInfo.outputPath("second.bin");
  makeFile(second, 40 * MIB);
  const cdp = await throttleUploads(page, 4 * MIB);
  // Part PUTs as they start, by the file id in their URL (.../u/USER/FILE?partNumber=...).
  const puts: string[] = [];
  page.on("request", (request) => {
    if (request.method() === "PUT" && request.url().includes("partNumber=")) {
      puts.push(new URL(request.url()).pathname.split("/").pop()!);
    }
  });
  // first.bin takes 4 of the 6 connections; second.bin gets the other 2, and 2 of its parts
  // wait for one (a part takes seconds at this rate).
  await upload.choose([first]);
  await expect.poll(() => puts.length).toBeGreaterThanOrEqual(4);
  const firstId = puts[0];
  const ofSecond = () => puts.filter((file) => file !== firstId).length;
  await upload.choose([second]);
  await expect.poll(ofSecond).toBeGreaterThanOrEqual(2);

  const sentBefore = ofSecond();
  await page.getByRole("button", { name: "Pause second.bin" }).click();
  // Its aborted parts free their connections; the parts that waited for one do not take them.
  await expect(upload.row("second.bin")).toHaveAttribute("data-phase", "Paused");
  expect(ofSecond()).toBe(sentBefore);
  await cdp.detach();
});

test("cancelling an upload frees its place and keeps nothing", async ({ page }, testInfo) => {
  const big = testInfo.outputPath("cancel.bin");
  makeFile(big, 40 * MIB);
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  const cdp = await throttleUploads(page, 4 * MIB);
  await upload.choose([big]);
  await expect(upload.row("cancel.bin")).toHaveAttribute("data-phase", "Uploading");
  // Partly sent: Cancel asks first, and the answer is yes.
  await expect(upload.row("cancel.bin").locator(".upload-numbers")).not.toHaveText(/^0 B of/);
  const questions: string[] = [];
  page.once("dialog", (dialog) => {
    questions.push(dialog.message());
    void dialog.accept();
  });
  await page.getByRole("button", { name: "Cancel cancel.bin" }).click();
  await expect(upload.row("cancel.bin")).toHaveAttribute("data-phase", "Cancelled");
  expect(questions).toHaveLength(1);
  expect(questions[0]).toContain("cancel.bin");
  await cdp.detach();

  const files = new FilesPage(page);
  await files.open();
  await expect(page.getByText("No files yet.")).toBeVisible();
  await expect(page.getByText("0 B of 100.0 GiB used")).toBeVisible();
});

test("a retried upload that was completed meanwhile is done, not sent again", async ({ page }, testInfo) => {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, "meanwhile.bin", 12 * MIB);
  // The completion fails in the browser (an error it does not retry), after which the upload
  // is completed on the server, as by an earlier call whose answer was lost.
  let fileId = "";
  await page.route("**/api/complete_upload", async (route) => {
    fileId = new URLSearchParams(route.request().postData() ?? "").get("file_id") ?? "";
    await route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ Internal: "lost" }) });
  });
  await upload.choose([path]);
  await expect(upload.row("meanwhile.bin")).toHaveAttribute("data-phase", "Failed");
  await page.unroute("**/api/complete_upload");
  const completed = await page.request.post("/api/complete_upload", {
    form: { file_id: fileId },
    headers: { Origin: new URL(page.url()).origin },
  });
  expect(completed.status()).toBe(200);

  const puts = countStoredParts(page);
  await page.getByRole("button", { name: "Retry meanwhile.bin" }).click();
  await upload.expectDone("meanwhile.bin");
  expect(puts.count).toBe(0);
  await new FilesPage(page).expectDownload("meanwhile.bin", hash);
});

test("an empty file is done at once, and a completion the storage could not answer, or that meets one running elsewhere, is retried", async ({
  page,
}, testInfo) => {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  const empty = testInfo.outputPath("empty.txt");
  const small = testInfo.outputPath("small.bin");
  makeFile(empty, 0);
  const smallHash = makeFile(small, 4321);

  await new AuthPages(page).signUpFresh();
  // The first completion meets a storage outage (503, as the server answers one), the second
  // a completion of the same file running elsewhere (409, the file is busy); the engine must
  // ask again each time rather than fail the file.
  let completions = 0;
  await page.route("**/api/complete_upload", async (route) => {
    completions += 1;
    if (completions === 1) {
      await route.fulfill({
        status: 503,
        contentType: "application/json",
        body: JSON.stringify({ Unavailable: "The storage is not answering right now. Try again in a moment." }),
      });
    } else if (completions === 2) {
      await route.fulfill({
        status: 409,
        contentType: "application/json",
        body: JSON.stringify({ Conflict: "This upload is being completed right now. Try again in a moment." }),
      });
    } else {
      await route.continue();
    }
  });
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([empty, small]);
  await upload.expectDone("empty.txt");
  await upload.expectDone("small.bin");
  expect(completions).toBe(3);

  const files = new FilesPage(page);
  await files.open();
  await expect(files.row("empty.txt")).toContainText("Complete");
  await expect(files.row("empty.txt")).toContainText("0 B");
  expect(readFileSync(await files.download("empty.txt")).length).toBe(0);
  expect(sha256OfFile(await files.download("small.bin"))).toBe(smallHash);
  expect(pageErrors).toEqual([]);
});
