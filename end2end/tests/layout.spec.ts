import { expect, test, type Locator, type Page } from "@playwright/test";
import { adminPage } from "./fixtures/admin";
import { makeFile, UploadPage } from "./fixtures/files";
import { AuthPages } from "./fixtures/auth";
import { openHydrated } from "./fixtures/pages";

// Issue 23, part 1: tables fit the window from a phone (390 px) to a laptop (1280 px), with a
// 223-character file name. Names keep a minimum width and end with an ellipsis, whole in their
// title and while their row has the focus; a table scrolls in its own box, never the page;
// admin tables become cards on a phone, as My files does.

/** 223 characters, words joined without spaces (no place to wrap but mid-word). */
const LONG_NAME = "quarterly-report-of-every-upload-and-download-".repeat(5).slice(0, 219) + ".bin";

const WIDE = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** The page does not scroll sideways: everything fits its width. */
async function expectNoSidewaysScroll(page: Page, what: string) {
  const { scrollWidth, innerWidth } = await page.evaluate(() => ({
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
  }));
  expect(scrollWidth, `${what}: the page is ${scrollWidth} px wide in a ${innerWidth} px window`).toBeLessThanOrEqual(
    innerWidth,
  );
}

/** The cell holding the long name: one line, cut with an ellipsis, no narrower than a name needs. */
async function expectNameCut(cell: Locator, what: string, minWidth: number) {
  await expect(cell).toBeVisible();
  const box = await cell.evaluate((el) => {
    const style = getComputedStyle(el);
    // The text's own box: the cell may be as tall as its row's other cells.
    const text = document.createRange();
    text.selectNodeContents(el);
    return {
      width: el.getBoundingClientRect().width,
      textHeight: text.getBoundingClientRect().height,
      rowHeight: (el.closest("tr") as HTMLElement).getBoundingClientRect().height,
      textOverflow: style.textOverflow,
      whiteSpace: style.whiteSpace,
      cut: el.scrollWidth > el.clientWidth,
      lineHeight: parseFloat(style.lineHeight) || 24,
    };
  });
  expect(box.textOverflow, what).toBe("ellipsis");
  expect(box.whiteSpace, what).toBe("nowrap");
  expect(box.cut, `${what}: the name is cut`).toBe(true);
  expect(box.width, `${what}: the name's width`).toBeGreaterThanOrEqual(minWidth);
  // One line, not a column of broken words 1 300 px tall.
  expect(box.textHeight, `${what}: the name's height`).toBeLessThan(box.lineHeight * 1.5);
  expect(box.rowHeight, `${what}: its row's height`).toBeLessThan(400);
}

/** Every row of an admin table (a card, on a phone) fits the window. */
async function expectRowsFit(page: Page, table: Locator, what: string) {
  const innerWidth = await page.evaluate(() => window.innerWidth);
  for (const row of await table.locator("tbody tr").all()) {
    const right = await row.evaluate((el) => el.getBoundingClientRect().right);
    expect(right, `${what}: a row ends at ${right} px in a ${innerWidth} px window`).toBeLessThanOrEqual(innerWidth);
  }
}

/** The table is no wider than its box: nothing of it is cut off (at 1280 px). */
async function expectTableFitsItsBox(table: Locator, what: string) {
  const { table: tableWidth, box } = await table.evaluate((el) => ({
    table: el.getBoundingClientRect().width,
    box: (el.parentElement as HTMLElement).clientWidth,
  }));
  expect(tableWidth, `${what}: the table is ${tableWidth} px in a ${box} px box`).toBeLessThanOrEqual(box + 1);
}

test("My files and every admin table fit 390 and 1280 px with a 223-character name", async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(120_000);
  // The owner uploads a small file with the long name, and starts another they never finish.
  const path = testInfo.outputPath(LONG_NAME);
  makeFile(path, 4096);
  const owner = await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path]);
  await upload.expectDone(LONG_NAME);

  const admin = await adminPage(browser);
  // The admin acts on the owner, so the audit log names the file and the account.
  admin.page.on("dialog", (dialog) => dialog.accept());
  await openHydrated(admin.page, `/admin/files?owner=${encodeURIComponent(owner)}`);
  const download = admin.page.waitForEvent("download");
  await admin.page.getByRole("button", { name: `Download ${LONG_NAME}` }).click();
  await (await download).cancel();

  for (const viewport of [WIDE, PHONE]) {
    const at = `${viewport.width} px`;
    await page.setViewportSize(viewport);
    await admin.page.setViewportSize(viewport);

    await openHydrated(page, "/files");
    await expectNoSidewaysScroll(page, `My files at ${at}`);
    // My files cuts the name inside its cell (the cell also holds the rename field).
    await expectNameCut(page.locator("td.file-name .name", { hasText: LONG_NAME }), `My files at ${at}`, 150);

    await openHydrated(admin.page, `/admin/files?owner=${encodeURIComponent(owner)}`);
    const files = admin.page.getByRole("table", { name: "Files" });
    await expectNoSidewaysScroll(admin.page, `Admin files at ${at}`);
    if (viewport === PHONE) await expectRowsFit(admin.page, files, `Admin files at ${at}`);
    const name = files.locator("td.file-name", { hasText: LONG_NAME });
    await expectNameCut(name, `Admin files at ${at}`, 150);
    await expect(name).toHaveAttribute("title", LONG_NAME);

    await openHydrated(admin.page, `/admin/users?email=${encodeURIComponent(owner)}`);
    const users = admin.page.getByRole("table", { name: "Users" });
    await expect(users).toContainText(owner);
    await expectNoSidewaysScroll(admin.page, `Admin users at ${at}`);
    if (viewport === PHONE) await expectRowsFit(admin.page, users, `Admin users at ${at}`);

    await openHydrated(admin.page, `/admin/audit?actor=${encodeURIComponent(admin.email)}`);
    const audit = admin.page.getByRole("table", { name: "Audit log" });
    await expect(audit).toContainText("Downloaded");
    await expectNoSidewaysScroll(admin.page, `Audit log at ${at}`);
    if (viewport === PHONE) await expectRowsFit(admin.page, audit, `Audit log at ${at}`);
    await expectNameCut(audit.locator("td.file-name", { hasText: LONG_NAME }), `Audit log at ${at}`, 100);

    await openHydrated(admin.page, "/admin/uploads");
    await expectNoSidewaysScroll(admin.page, `Admin uploads at ${at}`);
    await openHydrated(admin.page, "/admin");
    await expectNoSidewaysScroll(admin.page, `Overview at ${at}`);

    if (viewport === WIDE) {
      // Wider than the window before: now the whole table shows, its last column too.
      await openHydrated(admin.page, `/admin/users?email=${encodeURIComponent(owner)}`);
      await expectTableFitsItsBox(users, "Admin users at 1280 px");
      await openHydrated(admin.page, `/admin/audit?actor=${encodeURIComponent(admin.email)}`);
      await expectTableFitsItsBox(audit, "Audit log at 1280 px");
      await expect(audit.getByRole("cell", { name: `Downloaded ${LONG_NAME}.` })).toBeInViewport();
    } else {
      // Cards: no column headings on a phone, each value with its label.
      await openHydrated(admin.page, `/admin/files?owner=${encodeURIComponent(owner)}`);
      await expect(files.locator("thead")).toBeHidden();
      const size = files.locator("td[data-label='Size']").first();
      await expect(size).toHaveCSS("display", "block");
      await expect(files.locator("tbody tr").first()).toHaveCSS("display", "block");
    }
  }
});

test("a cut name shows whole in its title and while its row has the focus", async ({ page, browser }, testInfo) => {
  const path = testInfo.outputPath(LONG_NAME);
  makeFile(path, 2048);
  const owner = await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path]);
  await upload.expectDone(LONG_NAME);

  const admin = await adminPage(browser, { viewport: WIDE });
  await openHydrated(admin.page, `/admin/files?owner=${encodeURIComponent(owner)}`);
  const cell = admin.page.getByRole("table", { name: "Files" }).locator("td.file-name", { hasText: LONG_NAME });
  await expect(cell).toHaveAttribute("title", LONG_NAME);
  const height = async () => (await cell.boundingBox())?.height ?? 0;
  const cut = await height();
  await admin.page.getByRole("checkbox", { name: `Select ${LONG_NAME}` }).focus();
  await expect(cell).toHaveCSS("white-space", "normal");
  expect(await height()).toBeGreaterThan(cut);

  // My files: the same cell class, so the same rule, when the row's Download button has the focus.
  await openHydrated(page, "/files");
  const mine = page.locator("td.file-name", { hasText: LONG_NAME });
  await expect(mine).toHaveCSS("white-space", "nowrap");
  await page.getByRole("button", { name: `Download ${LONG_NAME}` }).focus();
  await expect(mine).toHaveCSS("white-space", "normal");
});

test("a table wider than its box scrolls inside it, and the page does not", async ({ browser }) => {
  // 700 px: the admin files table (ten columns) is wider than that, and not yet cards.
  const admin = await adminPage(browser, { viewport: { width: 700, height: 800 } });
  const page = admin.page;
  await page.setViewportSize({ width: 700, height: 800 });
  await openHydrated(page, "/admin/audit");
  const box = page.getByRole("region", { name: "Audit log" });
  await expect(box).toBeVisible();
  const sizes = await box.evaluate((el) => ({
    overflowX: getComputedStyle(el).overflowX,
    width: el.getBoundingClientRect().right,
  }));
  expect(sizes.overflowX).toBe("auto");
  expect(sizes.width).toBeLessThanOrEqual(700);
  await expectNoSidewaysScroll(page, "Audit log at 700 px");
});
