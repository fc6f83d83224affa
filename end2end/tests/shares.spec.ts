import { expect, test, type Browser, type Page, type TestInfo } from "@playwright/test";
import { adminPage, userCommand } from "./fixtures/admin";
import { FilesPage, sha256OfFile, signUpWithFile } from "./fixtures/files";

// Share links (issue 24): made from My files, opened by anyone with the link in a browser
// that has no account and runs no script on that page.

const MIB = 1024 * 1024;

/** A fresh account that uploaded one file of `size` bytes named `name`; its SHA-256. */
async function uploaded(page: Page, testInfo: TestInfo, name: string, size: number) {
  const { path, hash, upload } = await signUpWithFile(page, testInfo, name, size);
  await upload.choose([path]);
  await upload.expectDone(name);
  return hash;
}

/** From My files, makes a link to `name` with these fields filled; answers its URL. */
async function makeLink(page: Page, name: string, fields: Record<string, string> = {}) {
  const files = new FilesPage(page);
  await files.open();
  await page.getByRole("link", { name: `Share ${name}` }).click();
  await expect(page.getByRole("heading", { name: `Share ${name}` })).toBeVisible();
  for (const [label, value] of Object.entries(fields)) {
    await page.getByLabel(label).fill(value);
  }
  await page.getByRole("button", { name: "Create link" }).click();
  await expect(page.getByRole("status")).toContainText("Link created.");
  const url = await page.getByLabel("New link").inputValue();
  expect(url).toMatch(/\/s\/[A-Za-z0-9_-]{43}$/);
  return url;
}

/** A browser with nothing of the owner's: a fresh context. */
async function visitor(browser: Browser, width = 1280) {
  const context = await browser.newContext({ viewport: { width, height: 800 } });
  return context.newPage();
}

const NOT_AVAILABLE = { name: "This link is not available" };

test("share a file: a visitor with the link downloads the same bytes, and the owner sees the download", async ({ page, browser }, testInfo) => {
  test.setTimeout(120_000);
  const name = "rushes from the second day of shooting, camera B, all takes.bin";
  const hash = await uploaded(page, testInfo, name, 8 * MIB);
  const url = await makeLink(page, name, { "Note (optional)": "Takes 3 to 9 are the good ones.", "Your name, as visitors see it": "Ana" });

  // A phone-sized screen: the page fits it.
  const guest = await visitor(browser, 390);
  const scripts: string[] = [];
  guest.on("request", (request) => {
    if (request.resourceType() === "script") scripts.push(request.url());
  });
  await guest.goto(url);
  await expect(guest.getByRole("heading", { name })).toBeVisible();
  await expect(guest.getByText("Ana sent you a file")).toBeVisible();
  await expect(guest.getByText("Takes 3 to 9 are the good ones.")).toBeVisible();
  await expect(guest.getByText("8.0 MiB (8388608 bytes)")).toBeVisible();
  expect(await guest.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
  expect(scripts, "the visitor's page loads no script").toEqual([]);

  await guest.getByText("How to check the file").click();
  await expect(guest.getByText("sha256sum \"$p\"")).toBeVisible();

  const downloading = guest.waitForEvent("download");
  await guest.getByRole("button", { name: "Download" }).click();
  const download = await downloading;
  expect(download.suggestedFilename()).toBe(name);
  expect(sha256OfFile((await download.path()) as string)).toBe(hash);

  // The owner's page counts it (opened anew: the page on screen answered the form's POST).
  await page.goto(page.url());
  const row = page.getByRole("region", { name: "Links" }).getByRole("row").nth(1);
  await expect(row).toContainText("Active");
  await expect(row.getByRole("cell").nth(2)).toHaveText("1");
});

test("a wrong password is refused next to the field; the right one opens the link", async ({ page, browser }, testInfo) => {
  await uploaded(page, testInfo, "contract.pdf", 2000);
  const url = await makeLink(page, "contract.pdf", { "Password (optional)": "blue whale 1987" });

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByRole("heading", { name: "This link has a password" })).toBeVisible();
  await expect(guest.getByText("contract.pdf")).toHaveCount(0);
  await guest.getByLabel("Password").fill("orca 1987");
  await guest.getByRole("button", { name: "Open" }).click();
  await expect(guest.getByLabel("Password")).toHaveAttribute("aria-invalid", "true");
  await expect(guest.getByRole("alert")).toHaveText("That is not the password of this link.");

  await guest.getByLabel("Password").fill("blue whale 1987");
  await guest.getByRole("button", { name: "Open" }).click();
  await expect(guest.getByRole("heading", { name: "contract.pdf" })).toBeVisible();
  await expect(guest.getByRole("button", { name: "Download" })).toBeVisible();
});

test("two visitors at once on a one-download link: one gets the file, the other is told the link ended", async ({ page, browser }, testInfo) => {
  const hash = await uploaded(page, testInfo, "once.bin", 3000);
  const url = await makeLink(page, "once.bin", { "Download limit (optional)": "1" });

  const guests = [await visitor(browser), await visitor(browser)];
  for (const guest of guests) {
    await guest.goto(url);
    await expect(guest.getByText("1 (this link then ends)")).toBeVisible();
  }
  const outcome = (guest: Page) =>
    Promise.race([
      guest.waitForEvent("download").then(async (d) => ({ got: "file", hash: sha256OfFile((await d.path()) as string) })),
      guest.getByRole("heading", NOT_AVAILABLE).waitFor().then(() => ({ got: "ended", hash: "" })),
    ]);
  const outcomes = await Promise.all(
    guests.map(async (guest) => {
      const result = outcome(guest);
      await guest.getByRole("button", { name: "Download" }).click();
      return result;
    }),
  );
  expect(outcomes.map((o) => o.got).sort()).toEqual(["ended", "file"]);
  expect(outcomes.find((o) => o.got === "file")?.hash).toBe(hash);
});

test("a disabled owner's links stop at once; an admin sees every link and revokes one", async ({ page, browser }, testInfo) => {
  const hash = await uploaded(page, testInfo, "handover.zip", 5000);
  const url = await makeLink(page, "handover.zip");
  const email = await page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: /@example\.com$/ }).textContent();

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByRole("heading", { name: "handover.zip" })).toBeVisible();
  userCommand("disable", email as string);
  await guest.reload();
  await expect(guest.getByRole("heading", NOT_AVAILABLE)).toBeVisible();
  userCommand("enable", email as string);
  await guest.reload();
  await expect(guest.getByRole("heading", { name: "handover.zip" })).toBeVisible();

  const { page: admin } = await adminPage(browser);
  await admin.getByRole("link", { name: "Admin" }).click();
  await admin.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Share links" }).click();
  await expect(admin.getByRole("heading", { name: "Share links" })).toBeVisible();
  await admin.getByLabel("Owner's email contains").fill(email as string);
  await admin.getByRole("button", { name: "Filter" }).click();
  const row = admin.getByRole("row", { name: /handover\.zip/ });
  await expect(row).toContainText("Active");
  await row.getByRole("button", { name: /^Revoke/ }).click();
  await expect(admin.getByRole("row", { name: /handover\.zip/ })).toContainText("Revoked");

  await guest.reload();
  await expect(guest.getByRole("heading", NOT_AVAILABLE)).toBeVisible();
  // The owner still has the file.
  await new FilesPage(page).expectDownload("handover.zip", hash);
});

test.describe("on a server whose links last 3 s at most", () => {
  test.use({ baseURL: `http://127.0.0.1:${process.env.HAUL_E2E_SHORT_TTL_PORT}` });

  test("an expired link answers that it is not available", async ({ page, browser }, testInfo) => {
    await uploaded(page, testInfo, "brief.txt", 100);
    const url = await makeLink(page, "brief.txt");
    const guest = await visitor(browser);
    const first = await guest.goto(url);
    // Opened in time, or already past its 3 s on a slow machine: either way it ends.
    expect([200, 410]).toContain(first?.status());
    await expect(async () => {
      const response = await guest.reload();
      expect(response?.status()).toBe(410);
    }).toPass({ timeout: 15_000 });
    await expect(guest.getByRole("heading", NOT_AVAILABLE)).toBeVisible();
  });
});
