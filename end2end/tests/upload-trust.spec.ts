import { expect, test, type Locator, type Page } from "@playwright/test";
import { adminPage } from "./fixtures/admin";
import { AuthPages, newEmail } from "./fixtures/auth";
import {
  countStoredParts,
  FilesPage,
  makeFile,
  resumeReportFromMyFiles,
  routePartPuts,
  signUpWithFile,
  throttleUploads,
  UploadPage,
} from "./fixtures/files";
import { openHydrated } from "./fixtures/pages";

const MIB = 1024 * 1024;

declare global {
  interface Window {
    /** What the row showed, each time it changed (test "progress never goes backwards"). */
    __samples: { text: string; value: string | null }[];
    /** Notifications the page created (the recording stub of `Notification`). */
    __notes: { title: string; body?: string }[];
  }
}

const UNITS: Record<string, number> = { B: 1, KiB: 1024, MiB: MIB, GiB: 1024 * MIB };

/** The bytes sent that a row's figures show ("13.8 MiB of 40.0 MiB · …" → 13.8 MiB). */
function sentOf(text: string): number {
  const match = /^(\d+(?:\.\d+)?) (B|KiB|MiB|GiB) of /.exec(text.trim());
  if (!match) throw new Error(`not a row's figures: ${JSON.stringify(text)}`);
  return Number(match[1]) * UNITS[match[2]];
}

/** The bytes the row `row` shows as sent. */
async function shownSent(row: Locator): Promise<number> {
  return sentOf(await row.locator(".upload-numbers").innerText());
}

/** Replaces `Notification` with a stub that records what the page shows (permission given),
 * and makes the tab read as hidden; for every document the page loads from now on. */
async function recordNotifications(page: Page) {
  await page.addInitScript(() => {
    window.__notes = [];
    // No class fields: the function is sent to the page as its source, after transpiling.
    class RecordingNotification {
      static get permission() {
        return "granted";
      }
      static requestPermission() {
        return Promise.resolve("granted");
      }
      constructor(title: string, options?: { body?: string }) {
        window.__notes.push({ title, body: options?.body });
      }
      close() {}
    }
    Object.defineProperty(window, "Notification", {
      value: RecordingNotification,
      configurable: true,
      writable: true,
    });
    Object.defineProperty(Document.prototype, "hidden", { get: () => true, configurable: true });
    Object.defineProperty(Document.prototype, "visibilityState", { get: () => "hidden", configurable: true });
  });
}

/** Holds every start of an upload until `release` is called. */
async function holdStarts(page: Page): Promise<() => void> {
  let release!: () => void;
  const released = new Promise<void>((resolve) => {
    release = () => resolve();
  });
  await page.route("**/api/start_upload", async (route) => {
    await released;
    await route.continue().catch(() => {});
  });
  return release;
}


/** Closes the page as a user leaving it would, dismissing any question asked; answers the
 * types of the dialogs seen (filled as they come). */
async function closeAsking(page: Page): Promise<string[]> {
  const seen: string[] = [];
  page.on("dialog", (dialog) => {
    seen.push(dialog.type());
    void dialog.dismiss();
  });
  await page.close({ runBeforeUnload: true });
  return seen;
}
test("leaving the page while a file uploads asks first", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path, upload } = await signUpWithFile(page, testInfo, "leaving.bin", 40 * MIB);
  await throttleUploads(page, 2 * MIB);
  await upload.choose([path]);
  await expect(upload.row("leaving.bin")).toHaveAttribute("data-phase", "Uploading");
  // Chromium asks before unload only on a page the user has interacted with.
  await page.getByRole("heading", { name: "Queue", exact: true }).click();

  const seen = await closeAsking(page);
  await expect.poll(() => seen).toContain("beforeunload");
  // Dismissed: the user stays, and the upload goes on.
  expect(page.isClosed()).toBe(false);
  await expect(upload.row("leaving.bin")).toHaveAttribute("data-phase", "Uploading");
});

test("leaving the page with nothing uploading does not ask", async ({ page }, testInfo) => {
  const { path, upload } = await signUpWithFile(page, testInfo, "left.txt", 1234);
  await upload.choose([path]);
  await upload.expectDone("left.txt");
  await page.getByRole("heading", { name: "Queue", exact: true }).click();

  const seen = await closeAsking(page);
  // A dialog, dismissed, would have kept the page open.
  await expect.poll(() => page.isClosed()).toBe(true);
  expect(seen).toEqual([]);
});

test("cancelling a partly sent file asks first; No keeps it uploading, Yes cancels it", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path, upload } = await signUpWithFile(page, testInfo, "cancel-asks.bin", 40 * MIB);
  await throttleUploads(page, 2 * MIB);
  await upload.choose([path]);
  const row = upload.row("cancel-asks.bin");
  await expect(row).toHaveAttribute("data-phase", "Uploading");
  await expect(row.locator(".upload-numbers")).not.toHaveText(/^0 B of/);

  const questions: string[] = [];
  page.once("dialog", (dialog) => {
    questions.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.dismiss();
  });
  await page.getByRole("button", { name: "Cancel cancel-asks.bin", exact: true }).click();
  await expect.poll(() => questions.length).toBe(1);
  expect(questions[0]).toMatch(
    /^confirm: Cancel cancel-asks\.bin\? The \d+(\.\d)? (B|KiB|MiB) sent so far will be discarded\.$/,
  );
  expect(questions[0]).not.toContain("The 0 B sent");

  // Kept: it goes on sending (a cancelled upload's figure would stop where it was).
  const atNo = await shownSent(row);
  await expect.poll(() => shownSent(row), { timeout: 30_000 }).toBeGreaterThan(atNo + MIB);
  await expect(row).toHaveAttribute("data-phase", "Uploading");

  page.once("dialog", (dialog) => {
    questions.push(`${dialog.type()}: ${dialog.message()}`);
    void dialog.accept();
  });
  await page.getByRole("button", { name: "Cancel cancel-asks.bin", exact: true }).click();
  await expect(row).toHaveAttribute("data-phase", "Cancelled");
  expect(questions).toHaveLength(2);
  expect(questions[1]).toMatch(/^confirm: Cancel cancel-asks\.bin\? The .+ sent so far will be discarded\.$/);
});

test("the progress shown never goes backwards, through a pause and a failed part", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path, upload } = await signUpWithFile(page, testInfo, "forward.bin", 40 * MIB);
  // The first PUT of part 2 fails on the way; the engine sends it again.
  const sends = await routePartPuts(page, async (route, number, count) => {
    if (number === 2 && count === 1) return route.abort("failed").catch(() => {});
    await route.continue().catch(() => {});
  });
  const cdp = await throttleUploads(page, 4 * MIB);
  await upload.choose([path]);
  const row = upload.row("forward.bin");
  await expect(row).toBeVisible();
  // Every value the row shows, as it changes.
  await row.evaluate((li) => {
    const numbers = li.querySelector(".upload-numbers") as HTMLElement;
    const bar = li.querySelector("progress") as HTMLProgressElement;
    window.__samples = [];
    const record = () =>
      window.__samples.push({ text: numbers.textContent ?? "", value: bar.getAttribute("value") });
    record();
    new MutationObserver(record).observe(li, {
      subtree: true,
      childList: true,
      characterData: true,
      attributes: true,
      attributeFilter: ["value"],
    });
  });

  // Paused mid-way, with parts partly sent; then resumed.
  await expect.poll(() => shownSent(row), { timeout: 30_000 }).toBeGreaterThanOrEqual(8 * MIB);
  await page.getByRole("button", { name: "Pause forward.bin", exact: true }).click();
  await expect(row).toHaveAttribute("data-phase", "Paused");
  await page.getByRole("button", { name: "Resume forward.bin", exact: true }).click();
  await upload.expectDone("forward.bin");
  await cdp.detach();
  expect(sends[2]).toBeGreaterThanOrEqual(2);

  const samples = await page.evaluate(() => window.__samples);
  expect(samples.length).toBeGreaterThan(10);
  expect(samples[samples.length - 1].text).toMatch(/^40\.0 MiB of 40\.0 MiB/);
  for (let i = 1; i < samples.length; i++) {
    const [before, after] = [samples[i - 1], samples[i]];
    expect(sentOf(after.text), `${JSON.stringify(before.text)} then ${JSON.stringify(after.text)}`).toBeGreaterThanOrEqual(
      sentOf(before.text),
    );
    expect(Number(after.value), `bar ${before.value} then ${after.value}`).toBeGreaterThanOrEqual(Number(before.value));
  }
});

test("offline, the row says it waits for the network and shows no speed or time left", async ({
  page,
  context,
}, testInfo) => {
  test.setTimeout(120_000);
  const { path, upload } = await signUpWithFile(page, testInfo, "no-network.bin", 40 * MIB);
  const cdp = await throttleUploads(page, 4 * MIB);
  await upload.choose([path]);
  const row = upload.row("no-network.bin");
  const numbers = row.locator(".upload-numbers");
  await expect(row).toHaveAttribute("data-phase", "Uploading");
  // Online, the row shows a speed and a time left.
  await expect(numbers).toContainText("/s");
  await expect(numbers).toContainText("left");

  await context.setOffline(true);
  await expect(row.locator(".upload-state")).toHaveText("Waiting for the network");
  await expect(numbers).not.toContainText("/s");
  await expect(numbers).not.toContainText("left");
  await expect(row).toHaveAttribute("data-phase", "Uploading");

  await context.setOffline(false);
  await cdp.detach();
  await upload.expectDone("no-network.bin");
  await expect(row.locator(".upload-state")).not.toHaveText("Waiting for the network");
});

test("resuming with the wrong file, then the right one, finishes the same upload", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const { path, impostor } = await resumeReportFromMyFiles(page, testInfo);
  const request = page.getByText("To resume report.bin, choose the same file (12.0 MiB) again.");
  await expect(request).toBeVisible();
  const upload = new UploadPage(page);
  // The impostor's row stays (Failed); the right file gets a row of its own after it.
  const rows = page
    .getByRole("list", { name: "Upload queue" })
    .getByRole("listitem", { name: "report.bin", exact: true });
  await upload.choose([impostor]);
  await expect(rows.first()).toHaveAttribute("data-phase", "Failed");
  await expect(rows.first()).toContainText("This is not the file this upload began with");
  // The request from My files still stands, for the right file.
  await expect(request).toBeVisible();

  const sent = countStoredParts(page);
  await upload.choose([path]);
  const right = rows.last();
  await expect(right).toHaveAttribute("data-phase", "Done", { timeout: 60_000 });
  await expect(right.getByRole("progressbar")).toHaveAttribute("value", "100");
  // Part 1 was in S3 already: only parts 2 and 3 were sent.
  expect(sent.count).toBe(2);
  await expect(request).toHaveCount(0);

  const files = new FilesPage(page);
  await files.open();
  await expect(files.row("report.bin")).toHaveCount(1);
  await expect(files.row("report.bin")).toContainText("Complete");
  // A header and one file: no second upload of report.bin, finished or not.
  await expect(page.getByRole("row")).toHaveCount(2);
  await expect(page.getByText("12.0 MiB of 100.0 GiB used", { exact: true })).toBeVisible();
});

test("an upload an admin aborts stops at once and says so", async ({ page, browser }, testInfo) => {
  test.setTimeout(120_000);
  const name = "aborted-by-admin.bin";
  const admin = await adminPage(browser);
  const path = testInfo.outputPath(name);
  makeFile(path, 40 * MIB);
  const owner = await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await throttleUploads(page, 2 * MIB);
  await upload.choose([path]);
  const row = upload.row(name);
  await expect(row).toHaveAttribute("data-phase", "Uploading");
  await expect(row.locator(".upload-numbers")).not.toHaveText(/^0 B of/);

  await openHydrated(admin.page, `/admin/uploads?owner=${encodeURIComponent(owner)}`);
  const listed = admin.page.getByRole("row", { name, exact: true });
  await expect(listed).toContainText(owner);
  admin.page.once("dialog", (dialog) => dialog.accept());
  await listed.getByRole("button", { name: `Abort ${name}`, exact: true }).click();
  await expect(listed).toHaveCount(0);

  await expect(row).toHaveAttribute("data-phase", "Cancelled", { timeout: 15_000 });
  await expect(row.locator(".upload-state")).toHaveText("Cancelled by an administrator.");
  await expect(page.getByRole("button", { name: `Retry ${name}`, exact: true })).toHaveCount(0);
  await expect(row).not.toContainText(/storage|404/i);
  await admin.page.context().close();
});

test("deleting a file in My files while it uploads stops the upload and says so", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  const name = "deleted-meanwhile.bin";
  const { path, upload } = await signUpWithFile(page, testInfo, name, 40 * MIB);
  await throttleUploads(page, 2 * MIB);
  await upload.choose([path]);
  const row = upload.row(name);
  await expect(row).toHaveAttribute("data-phase", "Uploading");
  await expect(row.locator(".upload-numbers")).not.toHaveText(/^0 B of/);

  // In the app (the queue goes on): My files, delete, and back.
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "My files", exact: true }).click();
  const files = new FilesPage(page);
  await expect(files.row(name)).toContainText(/Uploading \d+%/);
  await files.delete(name);
  await expect(files.row(name)).toHaveCount(0);
  await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Upload", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Upload files" })).toBeVisible();

  await expect(row).toHaveAttribute("data-phase", "Cancelled", { timeout: 15_000 });
  await expect(row.locator(".upload-state")).toHaveText("You deleted this file.");
  await expect(page.getByRole("button", { name: `Retry ${name}`, exact: true })).toHaveCount(0);
});

test("the batch view sums the queue, shows progress in the title and clears finished files", async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  const { path: one, upload } = await signUpWithFile(page, testInfo, "one.bin", MIB);
  const two = testInfo.outputPath("two.bin");
  makeFile(two, 2 * MIB);
  const twelve = testInfo.outputPath("twelve.bin");
  makeFile(twelve, 12 * MIB);
  await expect(page).toHaveTitle("Upload — Haul");
  const cdp = await throttleUploads(page, 2 * MIB);
  await upload.choose([one, two, twelve]);

  const batch = page.getByRole("region", { name: "All uploads", exact: true });
  await expect(batch).toContainText(/\d of 3 files done/);
  // While files upload, the tab's title leads with the batch's progress.
  await expect(page).toHaveTitle(/^\d+% · Upload — Haul$/);
  for (const name of ["one.bin", "two.bin", "twelve.bin"]) await upload.expectDone(name);
  await cdp.detach();

  await expect(batch).toContainText("3 of 3 files done");
  await expect(batch.getByRole("progressbar", { name: "All uploads progress" })).toHaveAttribute("value", "100");
  await expect(page).toHaveTitle("Upload — Haul");

  await batch.getByRole("button", { name: "Clear finished" }).click();
  await expect(page.getByRole("list", { name: "Upload queue" }).getByRole("listitem")).toHaveCount(0);
});

test("a notification, when asked for, says the queue finished while the tab was hidden", async ({ page }, testInfo) => {
  await recordNotifications(page);
  const { path, upload } = await signUpWithFile(page, testInfo, "notify.txt", 1234);
  // The file waits to start until the box is checked (it appears with the queue).
  const release = await holdStarts(page);
  await upload.choose([path]);
  await expect(page).toHaveTitle(/^\d+% · Upload — Haul$/);
  const box = page.getByRole("checkbox", { name: "Notify me when the uploads finish or one fails" });
  await box.check();
  await expect(box).toBeChecked();
  // Asked and granted: the choice is kept.
  await expect.poll(() => page.evaluate(() => localStorage.getItem("haul.notify"))).toBe("1");
  release();

  await upload.expectDone("notify.txt");
  await expect.poll(() => page.evaluate(() => window.__notes)).toEqual([
    { title: "Uploads finished", body: "1 of 1 files uploaded." },
  ]);
});

test("no notification is shown when none was asked for", async ({ page }, testInfo) => {
  await recordNotifications(page);
  const { path, upload } = await signUpWithFile(page, testInfo, "quiet.txt", 1234);
  const release = await holdStarts(page);
  await upload.choose([path]);
  await expect(page).toHaveTitle(/^\d+% · Upload — Haul$/);
  await expect(page.getByRole("checkbox", { name: "Notify me when the uploads finish or one fails" })).not.toBeChecked();
  release();

  await upload.expectDone("quiet.txt");
  // The title and the notification come from the same reaction to the queue: once the title
  // is back, a notification would have been shown.
  await expect(page).toHaveTitle("Upload — Haul");
  expect(await page.evaluate(() => window.__notes)).toEqual([]);
});

test("a queue of 60 files keeps the page usable", async ({ page }, testInfo) => {
  test.setTimeout(180_000);
  await page.setViewportSize({ width: 1280, height: 800 });
  const paths: string[] = [];
  for (let i = 1; i <= 60; i++) {
    const path = testInfo.outputPath(`small-${String(i).padStart(2, "0")}.txt`);
    makeFile(path, 1024);
    paths.push(path);
  }
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose(paths);
  const batch = page.getByRole("region", { name: "All uploads", exact: true });
  await expect(batch).toContainText("60 of 60 files done", { timeout: 150_000 });
  const list = page.getByRole("list", { name: "Upload queue" });
  await expect(list.getByRole("listitem")).toHaveCount(60);

  await page.evaluate(() => window.scrollTo(0, 0));
  const [scrollHeight, innerHeight] = await page.evaluate(() => [
    document.documentElement.scrollHeight,
    window.innerHeight,
  ]);
  expect(innerHeight).toBe(800);
  expect(scrollHeight).toBeLessThan(2.5 * innerHeight);
  // The list scrolls in a box of its own.
  const [listScroll, listClient] = await list.evaluate((ul) => [ul.scrollHeight, ul.clientHeight]);
  expect(listScroll).toBeGreaterThan(listClient);
  // The batch's summary is on screen without scrolling.
  const box = await batch.boundingBox();
  expect(box).not.toBeNull();
  expect(box!.y).toBeGreaterThanOrEqual(0);
  expect(box!.y).toBeLessThan(innerHeight);
  expect(box!.y + box!.height).toBeLessThanOrEqual(innerHeight);
});

test("after signing up, the user lands on Upload", async ({ page }) => {
  const auth = new AuthPages(page);
  const email = newEmail();
  await auth.signUp(email);
  await expect(page).toHaveURL("/upload");
  await auth.expectSignedInAs(email);
  await expect(page.getByRole("heading", { name: "Upload files" })).toBeVisible();
});
