import { expect, test, type Page } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";
import { FilesPage } from "./fixtures/files";
import { openHydrated, watchForErrors } from "./fixtures/pages";

/** Rows on a page of My files (PAGE_SIZE in app/src/backend/page.rs). */
const PAGE_SIZE = 50;

/** page-000.txt, page-001.txt, ...: fixed width, so the names say the order they were made in. */
function fileName(index: number): string {
  return `page-${String(index).padStart(3, "0")}.txt`;
}

/** Makes an empty file for each of `names`, one after another (the first is the oldest), with
 * the page's session, through the server function the upload page calls: a 0-byte file is
 * complete at once, so no bytes go to the storage from here. */
async function makeEmptyFiles(page: Page, names: string[]) {
  const origin = new URL(page.url()).origin;
  for (const name of names) {
    const response = await page.request.post("/api/start_upload", {
      form: { name, size: "0", content_type: "text/plain" },
      headers: { Origin: origin },
    });
    expect(response.status(), `start_upload ${name}`).toBe(200);
    const started = await response.json();
    expect(started.file.name).toBe(name);
    expect(started.file.status).toBe("complete");
  }
}

/** The rows of the files this spec made (the table's heading row is not one of them). */
function fileRows(page: Page) {
  return page.getByRole("row", { name: /^page-\d{3}\.txt$/ });
}

function startsWith(text: string): RegExp {
  const literal = text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp("^" + literal);
}

/** The page lists exactly these files, in this order (a row's text begins with its name). */
async function expectFiles(page: Page, names: string[]) {
  const rows = fileRows(page);
  await expect(rows).toHaveCount(names.length);
  await expect(rows).toHaveText(names.map(startsWith));
}

function pager(page: Page) {
  const nav = page.getByRole("navigation", { name: "Pages" });
  return {
    older: nav.getByRole("link", { name: "Older files", exact: true }),
    newest: nav.getByRole("link", { name: "Newest files", exact: true }),
  };
}

test("My files pages through the URL: the 50 newest, Older files, a reload, Newest files", async ({
  page,
  browser,
}) => {
  test.setTimeout(120_000);
  const errors = watchForErrors(page);
  await new AuthPages(page).signUpFresh();
  const made = Array.from({ length: PAGE_SIZE + 1 }, (_, index) => fileName(index));
  await makeEmptyFiles(page, made);
  const newestFirst = [...made].reverse();
  // page-050.txt down to page-001.txt; page-000.txt, the oldest, alone on the second page.
  const firstPage = newestFirst.slice(0, PAGE_SIZE);
  const secondPage = newestFirst.slice(PAGE_SIZE);

  const files = new FilesPage(page);
  const { older, newest } = pager(page);
  await files.open();
  await expectFiles(page, firstPage);
  await expect(files.row("page-050.txt")).toBeVisible();
  await expect(files.row("page-000.txt")).toHaveCount(0);
  await expect(older).toBeVisible();
  await expect(newest).toHaveCount(0);

  await older.click();
  await expect(page).toHaveURL(/\/files\?cursor=\d+_[0-9a-f-]{36}$/);
  await expectFiles(page, secondPage);
  await expect(files.row("page-001.txt")).toHaveCount(0);
  await expect(newest).toBeVisible();
  // 51 files: there is no third page.
  await expect(older).toHaveCount(0);
  const secondUrl = page.url();

  // The URL alone says which page: a reload shows the same one.
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(page).toHaveURL(secondUrl);
  await expectFiles(page, secondPage);
  await expect(newest).toBeVisible();
  await expect(older).toHaveCount(0);

  // And the server renders it from the URL: the same page with no script running at all.
  const plainContext = await browser.newContext({
    javaScriptEnabled: false,
    storageState: await page.context().storageState(),
  });
  try {
    const plain = await plainContext.newPage();
    await plain.goto(secondUrl);
    await expect(plain.getByRole("heading", { name: "My files" })).toBeVisible();
    await expectFiles(plain, secondPage);
    await expect(pager(plain).newest).toBeVisible();
    await expect(plain.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  } finally {
    await plainContext.close();
  }

  await newest.click();
  await expect(page).toHaveURL("/files");
  await expectFiles(page, firstPage);
  await expect(older).toBeVisible();
  await expect(newest).toHaveCount(0);
  expect(errors).toEqual([]);
});

test("a made-up cursor in the URL shows the error in words, not a blank page or another page", async ({
  page,
}) => {
  const pageErrors: string[] = [];
  page.on("pageerror", (error) => pageErrors.push(error.message));
  await new AuthPages(page).signUpFresh();
  // One file, which the first page would list: the cursor must not be quietly dropped.
  await makeEmptyFiles(page, [fileName(0)]);

  await openHydrated(page, "/files?cursor=garbage");
  await expect(page).toHaveURL("/files?cursor=garbage");
  await expect(page.getByRole("heading", { name: "My files" })).toBeVisible();
  // list_files answers BadRequest("invalid cursor"); ErrorView shows it as an alert.
  await expect(page.getByRole("alert")).toHaveText("Bad request: invalid cursor");
  await expect(fileRows(page)).toHaveCount(0);
  expect(pageErrors).toEqual([]);
});
