import { expect, test, type Page, type TestInfo } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";
import { FilesPage, makeFile, UploadPage } from "./fixtures/files";
import { watchForErrors } from "./fixtures/pages";

/** Uploads files of these names and sizes through the upload page, for real. */
async function uploadFiles(page: Page, testInfo: TestInfo, files: [string, number][]) {
  const paths = files.map(([name, size]) => {
    const path = testInfo.outputPath(name);
    makeFile(path, size);
    return path;
  });
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose(paths);
  for (const [name] of files) await upload.expectDone(name);
}

/** The names in the Files table, top to bottom. */
async function listedNames(page: Page): Promise<string[]> {
  const rows = page.getByRole("table", { name: "Files" }).locator("tbody tr");
  return rows.evaluateAll((trs) => trs.map((tr) => tr.getAttribute("aria-label") ?? ""));
}

test("My files searches and sorts through the URL, says how many match, and shows the time", async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  const errors = watchForErrors(page);
  await new AuthPages(page).signUpFresh();
  await uploadFiles(page, testInfo, [
    ["gamma report.pdf", 20],
    ["Beta.txt", 1000],
    ["alpha report.txt", 300],
  ]);
  const files = new FilesPage(page);
  await files.open();
  await expect(page.getByRole("status").filter({ hasText: "files ·" })).toHaveText("3 files · 1.3 KiB");
  // The time of the upload, not only its day.
  await expect(files.row("Beta.txt").locator("time")).toHaveText(/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}$/);
  // A long name keeps its whole self in a title.
  await expect(files.row("Beta.txt").locator("[title='Beta.txt']")).toHaveText("Beta.txt");

  const search = page.getByRole("form", { name: "Find files" });
  await search.getByLabel("Name contains").fill("REPORT");
  await search.getByLabel("Sort").selectOption({ label: "Name, A to Z" });
  await search.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/\/files\?name=REPORT&sort=name$/);
  await expect.poll(() => listedNames(page)).toEqual(["alpha report.txt", "gamma report.pdf"]);
  await expect(page.getByRole("status").filter({ hasText: "files ·" })).toHaveText("2 files · 320 B");

  // The URL alone says what is shown: a reload keeps the search, the sort and the fields.
  await page.reload();
  await expect(page.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect.poll(() => listedNames(page)).toEqual(["alpha report.txt", "gamma report.pdf"]);
  await expect(search.getByLabel("Name contains")).toHaveValue("REPORT");
  await expect(search.getByLabel("Sort")).toHaveValue("name");

  await search.getByLabel("Name contains").fill("");
  await search.getByLabel("Sort").selectOption({ label: "Largest first" });
  await search.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/\/files\?(name=&)?sort=largest$/);
  await expect.poll(() => listedNames(page)).toEqual(["Beta.txt", "alpha report.txt", "gamma report.pdf"]);
  await search.getByLabel("Sort").selectOption({ label: "Name, Z to A" });
  await search.getByRole("button", { name: "Filter" }).click();
  await expect.poll(() => listedNames(page)).toEqual(["gamma report.pdf", "Beta.txt", "alpha report.txt"]);

  // Back returns to the search before.
  await page.goBack();
  await expect(page).toHaveURL(/\/files\?(name=&)?sort=largest$/);
  await expect.poll(() => listedNames(page)).toEqual(["Beta.txt", "alpha report.txt", "gamma report.pdf"]);
  await page.goBack();
  await expect(page).toHaveURL(/\/files\?name=REPORT&sort=name$/);
  await expect.poll(() => listedNames(page)).toEqual(["alpha report.txt", "gamma report.pdf"]);

  await search.getByLabel("Name contains").fill("nothing like it");
  await search.getByRole("button", { name: "Filter" }).click();
  await expect(page.getByText("No files match.")).toBeVisible();
  await expect(page.getByRole("status").filter({ hasText: "files ·" })).toHaveText("0 files · 0 B");
  expect(errors).toEqual([]);
});

test("rename happens in the row: a refused name stays in the field with the reason beside it", async ({
  page,
}, testInfo) => {
  test.setTimeout(120_000);
  await new AuthPages(page).signUpFresh();
  await uploadFiles(page, testInfo, [
    ["notes.txt", 10],
    ["Other.txt", 20],
  ]);
  const files = new FilesPage(page);
  await files.open();
  // No browser prompt or confirm box: rename happens in the row.
  const dialogs: string[] = [];
  page.on("dialog", async (dialog) => {
    dialogs.push(dialog.message());
    await dialog.dismiss();
  });

  await files.row("notes.txt").getByRole("button", { name: "Rename notes.txt" }).click();
  const field = files.renameField("notes.txt");
  await expect(field).toBeFocused();
  await expect(field).toHaveValue("notes.txt");
  await field.fill("a/b.txt");
  await field.press("Enter");
  const row = files.row("notes.txt");
  await expect(row.getByRole("alert")).toContainText('File names cannot contain "/" (position 2).');
  await expect(field).toHaveValue("a/b.txt");

  // Escape leaves the name as it was.
  await field.press("Escape");
  await expect(field).toHaveCount(0);
  await expect(row.getByRole("alert")).toHaveCount(0);

  // A name another file has asks first, in the row.
  await row.getByRole("button", { name: "Rename notes.txt" }).click();
  await field.fill("other.TXT");
  await row.getByRole("button", { name: "Save" }).click();
  await expect(row.getByRole("alert")).toContainText("A file named Other.txt exists. Rename anyway?");
  await expect(files.row("Other.txt")).toBeVisible();
  await row.getByRole("button", { name: "Rename anyway" }).click();
  await expect(files.row("other.TXT")).toBeVisible();
  await expect(files.row("notes.txt")).toHaveCount(0);
  await expect(files.row("Other.txt")).toBeVisible();

  // A plain rename, with Save.
  await files.row("Other.txt").getByRole("button", { name: "Rename Other.txt" }).click();
  await files.renameField("Other.txt").fill("what?.txt");
  await files.row("Other.txt").getByRole("button", { name: "Save" }).click();
  await expect(files.row("what?.txt")).toBeVisible();
  expect(dialogs).toEqual([]);
});

test("a delete that fails says so in its row, not at the top of the page", async ({ page }, testInfo) => {
  test.setTimeout(120_000);
  await new AuthPages(page).signUpFresh();
  await uploadFiles(page, testInfo, [
    ["keep.txt", 10],
    ["gone.txt", 20],
  ]);
  const files = new FilesPage(page);
  await files.open();
  // Deleted elsewhere (another tab) after this page was drawn.
  const id = await page.evaluate(async () => {
    const response = await fetch("/api/list_files", { method: "POST", body: new URLSearchParams({ name: "gone" }) });
    return (await response.json()).files[0].id as string;
  });
  const origin = new URL(page.url()).origin;
  const deleted = await page.request.post("/api/delete_file", { form: { file_id: id }, headers: { Origin: origin } });
  expect(deleted.status()).toBe(200);

  await files.delete("gone.txt");
  await expect(files.row("gone.txt").getByRole("alert")).toHaveText("Not found.");
  await expect(files.row("keep.txt").getByRole("alert")).toHaveCount(0);
});
