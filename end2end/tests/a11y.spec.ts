import { expect, test, type Page } from "@playwright/test";
import { adminPage, startUpload } from "./fixtures/admin";
import { AuthPages, newEmail } from "./fixtures/auth";
import { makeFile, UploadPage } from "./fixtures/files";
import { openHydrated } from "./fixtures/pages";

// Issue 23, part 7: every page passes axe-core with no serious or critical violation; a skip
// link comes first; a failed form puts the focus on what went wrong; a button's name holds
// the words it shows (WCAG 2.5.3, label in name).

// axe is injected as a script, which the pages' Content-Security-Policy would refuse.
test.use({ bypassCSP: true });

const AXE = require.resolve("axe-core/axe.min.js");

type Found = { id: string; impact: string | null; help: string; nodes: string[] };

/** axe-core's serious and critical violations on the page as it stands, one line each. */
async function seriousViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  const found: Found[] = await page.evaluate(async () => {
    type Result = {
      violations: {
        id: string;
        impact: string | null;
        help: string;
        nodes: { target: unknown[]; failureSummary?: string }[];
      }[];
    };
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<Result> } }).axe;
    const result = await axe.run(document, { resultTypes: ["violations"] });
    return result.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.map((n) => `${n.target.join(" ")}: ${(n.failureSummary ?? "").replace(/\s+/g, " ")}`),
    }));
  });
  return found
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.join("\n    ")}`);
}

/** Opens each page and checks it, reporting every page's violations before failing. */
async function expectAccessible(page: Page, paths: string[]) {
  for (const path of paths) {
    await openHydrated(page, path);
    const found = await seriousViolations(page);
    if (found.length > 0) console.log(`axe on ${path}:\n  ${found.join("\n  ")}`);
    expect.soft(found, `axe on ${path}`).toEqual([]);
  }
}

test("signed-out pages have no serious or critical axe violation", async ({ page }) => {
  await expectAccessible(page, ["/", "/signin", "/signup", "/no-such-page"]);
});

test("a user's pages have no serious or critical axe violation", async ({ page }, testInfo) => {
  const path = testInfo.outputPath("notes.bin");
  makeFile(path, 2048);
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path]);
  await upload.expectDone("notes.bin");
  // The upload page with its queue, as the user sees it now.
  const found = await seriousViolations(page);
  if (found.length > 0) console.log(`axe on /upload with a queue:\n  ${found.join("\n  ")}`);
  expect.soft(found, "axe on /upload with a queue").toEqual([]);
  await expectAccessible(page, ["/upload", "/files", "/account"]);
});

test("every admin page has no serious or critical axe violation", async ({ page, browser }, testInfo) => {
  // Something in every list: a complete file and an upload in progress.
  const path = testInfo.outputPath("theirs.bin");
  makeFile(path, 2048);
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path]);
  await upload.expectDone("theirs.bin");
  await startUpload(page, "half.bin", 20 * 1024 * 1024);

  const admin = await adminPage(browser);
  await expectAccessible(admin.page, [
    "/admin",
    "/admin/files",
    "/admin/users",
    "/admin/uploads",
    "/admin/audit",
    "/admin/no-such-page",
  ]);
});

test("every button's name holds the words it shows, 'Abort all of this user' too", async ({ page, browser }) => {
  const owner = await new AuthPages(page).signUpFresh();
  await startUpload(page, "half.bin", 20 * 1024 * 1024);
  const admin = await adminPage(browser);
  await openHydrated(admin.page, `/admin/uploads?owner=${encodeURIComponent(owner)}`);
  await expect(admin.page.getByRole("button", { name: `Abort all of this user: ${owner}` })).toBeVisible();
  for (const path of ["/admin/files", `/admin/uploads?owner=${encodeURIComponent(owner)}`, "/admin/users"]) {
    await openHydrated(admin.page, path);
    const buttons = admin.page.locator("main button[aria-label]");
    await expect(buttons.first()).toBeVisible();
    for (const button of await buttons.all()) {
      const shown = (await button.innerText()).trim().toLowerCase();
      const name = ((await button.getAttribute("aria-label")) ?? "").toLowerCase();
      expect(name, `${path}: a button shows "${shown}"`).toContain(shown);
    }
  }
});

test("a skip link is the first thing the keyboard reaches, and it moves the focus to the page", async ({
  page,
  browser,
}) => {
  for (const path of ["/", "/signin", "/no-such-page"]) {
    await openHydrated(page, path);
    await page.keyboard.press("Tab");
    const skip = page.getByRole("link", { name: "Skip to content" });
    await expect(skip, path).toBeFocused();
    await expect(skip, path).toBeVisible();
    await page.keyboard.press("Enter");
    await expect(page.locator("main"), path).toBeFocused();
    // The next Tab goes on from the page, past the header.
    await page.keyboard.press("Tab");
    const inHeader = await page.evaluate(() => document.activeElement?.closest("header") !== null);
    expect(inHeader, path).toBe(false);
  }
  const admin = await adminPage(browser);
  await openHydrated(admin.page, "/admin/users");
  await admin.page.keyboard.press("Tab");
  await expect(admin.page.getByRole("link", { name: "Skip to content" })).toBeFocused();
});

test("a failed submission moves the focus to what went wrong", async ({ page }) => {
  // A field's own error: the field gets the focus, described by its message.
  await openHydrated(page, "/signup");
  await page.getByLabel("Email").fill(newEmail());
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Sign up" }).click();
  const password = page.getByLabel("Password");
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(password).toBeFocused();

  // The form's error (wrong credentials): the message gets the focus.
  const auth = new AuthPages(page);
  await auth.signIn(newEmail(), "not the password");
  const error = page.getByText("Wrong email or password.");
  await expect(error).toBeVisible();
  await expect(error).toBeFocused();
});
