import { expect, test } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";
import { FilesPage, makeFile, sha256OfFile, UploadPage } from "./fixtures/files";
import { watchForErrors } from "./fixtures/pages";

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
  const path = testInfo.outputPath("bad?name.bin");
  makeFile(path, 100);
  await new AuthPages(page).signUpFresh();
  const upload = new UploadPage(page);
  await upload.open();
  await upload.choose([path]);
  await expect(upload.row("bad?name.bin")).toHaveAttribute("data-phase", "Failed");
  await expect(upload.row("bad?name.bin")).toContainText("File names cannot contain");
  const files = new FilesPage(page);
  await files.open();
  await expect(page.getByText("No files yet.")).toBeVisible();
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
  await page.getByText("Drop files here, or").dispatchEvent("drop", { dataTransfer: dropped });
  await upload.expectDone("dropped.txt");

  const files = new FilesPage(page);
  await files.open();
  await expect(files.row("dropped.txt")).toContainText("text/plain");
  await expect(files.row("dropped.txt")).toContainText("13 B");
});
