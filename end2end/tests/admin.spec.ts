import { expect, test } from "@playwright/test";
import { adminPage } from "./fixtures/admin";
import { AuthPages } from "./fixtures/auth";
import { FilesPage, signUpWithFile } from "./fixtures/files";
import { openHydrated, watchForErrors } from "./fixtures/pages";

const MIB = 1024 * 1024;


test("an admin finds another user's file by the owner's email and deletes it; the owner's usage goes down", async ({
  page,
  browser,
}, testInfo) => {
  const { path, upload } = await signUpWithFile(page, testInfo, "theirs.bin", 2 * MIB);
  const owner = await page.getByRole("navigation", { name: "Account" }).locator(".user-email").innerText();
  await upload.choose([path]);
  await upload.expectDone("theirs.bin");
  const files = new FilesPage(page);
  await files.open();
  await expect(page.getByText("2.0 MiB of 100.0 GiB used")).toBeVisible();

  const admin = await adminPage(browser);
  await admin.page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Admin" }).click();
  await admin.page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Files" }).click();
  await expect(admin.page.getByRole("heading", { name: "Files" })).toBeVisible();
  await admin.page.getByLabel("Owner's email").fill(owner);
  await admin.page.getByRole("button", { name: "Filter" }).click();
  await expect(admin.page).toHaveURL(/owner=/);
  const table = admin.page.getByRole("table", { name: "Files" });
  await expect(table.getByRole("row")).toHaveCount(2);
  const row = table.getByRole("row", { name: "theirs.bin" });
  await expect(row).toContainText(owner);
  await expect(row).toContainText("2.0 MiB");
  admin.page.once("dialog", (dialog) => dialog.accept());
  await row.getByRole("button", { name: "Delete theirs.bin" }).click();
  await expect(admin.page.getByRole("status")).toContainText("Deleted 1 files (2.0 MiB)");
  await expect(admin.page.getByText("No files match.")).toBeVisible();

  await files.open();
  await expect(page.getByText("No files yet.")).toBeVisible();
  await expect(page.getByText("0 B of 100.0 GiB used")).toBeVisible();
});

test("the overview shows its totals and an SVG chart with a text alternative", async ({ browser }) => {
  const admin = await adminPage(browser);
  await openHydrated(admin.page, "/admin");
  await expect(admin.page.getByRole("heading", { name: "Overview" })).toBeVisible();
  const totals = admin.page.getByLabel("Totals");
  await expect(totals).toContainText("Users");
  await expect(totals).toContainText("Files complete");
  const chart = admin.page.getByRole("img", { name: "Bytes uploaded per day, last 30 days" });
  await expect(chart).toBeVisible();
  await expect(chart.locator("desc")).toHaveText(/uploaded in the last 30 days/);
  await admin.page.getByText("Numbers").first().click();
  const numbers = admin.page.getByRole("table", { name: "Bytes uploaded per day, last 30 days: numbers" });
  await expect(numbers.getByRole("row")).toHaveCount(30);
});

test("an admin changes a user's quota and disables them, who is signed out at once", async ({ page, browser }) => {
  const user = await new AuthPages(page).signUpFresh();
  const admin = await adminPage(browser);
  await openHydrated(admin.page, `/admin/users?email=${encodeURIComponent(user)}`);
  const row = admin.page.getByRole("table", { name: "Users" }).getByRole("row", { name: user });
  // Setting a quota and disabling ask first.
  admin.page.on("dialog", (dialog) => dialog.accept());
  await row.getByLabel(`New quota for ${user}`).fill("2GiB");
  await row.getByRole("button", { name: "Set quota" }).click();
  await expect(row).toContainText("0 B / 0 B / 2.0 GiB");
  await row.getByLabel(`New quota for ${user}`).fill("lots");
  await row.getByRole("button", { name: "Set quota" }).click();
  await expect(admin.page.getByRole("alert")).toContainText("Enter a size such as 500GB or 2TiB.");
  await row.getByRole("button", { name: `Disable ${user}` }).click();
  await expect(row.getByRole("button", { name: `Enable ${user}` })).toBeVisible();

  await openHydrated(page, "/files");
  await expect(page).toHaveURL(/\/signin/);
});

test("a user who is not an admin sees 'not allowed' under /admin and no Admin link", async ({ page }) => {
  await new AuthPages(page).signUpFresh();
  await expect(page.getByRole("navigation", { name: "Account" }).getByRole("link", { name: "Admin" })).toHaveCount(0);
  const response = await page.goto("/admin/files");
  expect(response?.status()).toBe(403);
  await expect(page.getByRole("heading", { name: "Not allowed" })).toBeVisible();
  await expect(page.getByRole("navigation", { name: "Admin" })).toHaveCount(0);
});

test("every admin page renders on the server and hydrates without errors", async ({ browser }) => {
  const admin = await adminPage(browser);
  const errors = watchForErrors(admin.page);
  for (const [path, heading] of [
    ["/admin", "Overview"],
    ["/admin/files?status=complete&sort=largest", "Files"],
    ["/admin/users", "Users"],
    ["/admin/uploads", "Uploads in progress"],
    ["/admin/audit?action=user.sign_up", "Audit log"],
  ]) {
    await openHydrated(admin.page, path);
    await expect(admin.page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
  }
  // The audit log lists this admin's own sign-up.
  await expect(admin.page.getByRole("table", { name: "Audit log" })).toContainText(admin.email);
  expect(errors).toEqual([]);
});
