import { expect, test, type Page } from "@playwright/test";
import { adminPage } from "./fixtures/admin";
import { AuthPages } from "./fixtures/auth";
import { signUpWithFile } from "./fixtures/files";
import { openHydrated } from "./fixtures/pages";

// Issue 23, part 6: the admin dashboard's controls say what is in force and what they did.

/** The page's query parameters, in order. */
function params(page: Page): [string, string][] {
  return [...new URL(page.url()).searchParams.entries()];
}

test("the sort control shows the sort in force, with or without one in the URL", async ({ browser }) => {
  const admin = await adminPage(browser);
  await openHydrated(admin.page, "/admin/files");
  const sort = admin.page.getByLabel("Sort");
  await expect(sort).toHaveValue("newest");
  await expect(sort.locator("option:checked")).toHaveText("Newest first");
  await sort.selectOption("largest");
  await admin.page.getByRole("button", { name: "Filter" }).click();
  await expect(admin.page).toHaveURL(/sort=largest/);
  await expect(sort).toHaveValue("largest");
  await openHydrated(admin.page, "/admin/files?sort=largest");
  await expect(sort).toHaveValue("largest");
});

test("filter URLs carry only the filters that were filled in", async ({ browser }) => {
  const admin = await adminPage(browser);
  const page = admin.page;
  await openHydrated(page, "/admin/files");
  await page.getByLabel("Owner's email").fill(admin.email);
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/owner=/);
  expect(params(page)).toEqual([
    ["owner", admin.email],
    ["sort", "newest"],
  ]);

  await openHydrated(page, "/admin/audit");
  await page.getByLabel("Action").selectOption("user.sign_up");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/action=/);
  expect(params(page)).toEqual([["action", "user.sign_up"]]);

  for (const path of ["/admin/users", "/admin/uploads", "/admin/audit"]) {
    await openHydrated(page, `${path}?x=1`);
    await page.getByRole("button", { name: "Filter" }).click();
    await expect(page).toHaveURL(new RegExp(`${path}$`));
  }
});

test("without JavaScript, a filter URL with empty fields is sent on to the same list without them", async ({
  browser,
}) => {
  const admin = await adminPage(browser);
  // As a browser asks for a page.
  const html = { Accept: "text/html" };
  const response = await admin.page.request.get("/admin/files?owner=&status=&name=&from=&to=&sort=newest", {
    maxRedirects: 0,
    headers: html,
  });
  expect(response.status()).toBe(302);
  expect(response.headers()["location"]).toBe("/admin/files?sort=newest");
  const clean = await admin.page.request.get("/admin/audit?action=user.sign_up", { maxRedirects: 0, headers: html });
  expect(clean.status()).toBe(200);
});

test("filters answer with the app's words next to the field, never a browser bubble", async ({ browser }) => {
  const admin = await adminPage(browser);
  const page = admin.page;
  await openHydrated(page, "/admin/files");
  // Too short for a name search: sent anyway, and the server's message describes the field.
  const name = page.getByLabel("Name contains");
  await name.fill("ab");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/name=ab/);
  await expect(name).toHaveAccessibleDescription("Enter 3 characters or more to search names.");
  await expect(page.getByText("Enter 3 characters or more to search names.").first()).toBeVisible();
  await name.fill("abc");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/name=abc/);
  await expect(page.locator("#name-filter-error")).toHaveText("");

  // Not an email: no bubble holds the form back; nobody has it, so nothing matches.
  await page.getByLabel("Owner's email").fill("bob");
  await page.getByRole("button", { name: "Filter" }).click();
  await expect(page).toHaveURL(/owner=bob/);
  await expect(page.getByText("No files match.")).toBeVisible();
  for (const form of await page.locator("form.filters").all()) {
    await expect(form).toHaveAttribute("novalidate", /.*/);
  }
});

test("setting a quota and disabling ask first, then say in the row what they did", async ({ page, browser }) => {
  const user = await new AuthPages(page).signUpFresh();
  const admin = await adminPage(browser);
  await openHydrated(admin.page, `/admin/users?email=${encodeURIComponent(user)}`);
  const row = admin.page.getByRole("table", { name: "Users" }).getByRole("row", { name: user });
  const asked: string[] = [];
  let answer = false;
  admin.page.on("dialog", async (dialog) => {
    asked.push(dialog.message());
    await (answer ? dialog.accept() : dialog.dismiss());
  });

  await row.getByLabel(`New quota for ${user}`).fill("3GiB");
  await row.getByRole("button", { name: "Set quota" }).click();
  await expect.poll(() => asked).toEqual([`Set the quota of ${user} to 3GiB?`]);
  await expect(row).toContainText("/ 100.0 GiB");
  await expect(row.getByRole("status")).toHaveCount(0);

  answer = true;
  await row.getByRole("button", { name: "Set quota" }).click();
  await expect(row.getByRole("status")).toHaveText("Quota set to 3.0 GiB.");
  await expect(row).toContainText("0 B / 0 B / 3.0 GiB");

  answer = false;
  await row.getByRole("button", { name: `Disable ${user}` }).click();
  await expect.poll(() => asked.length).toBe(3);
  expect(asked[2]).toContain(`Disable ${user}?`);
  await expect(row.getByRole("button", { name: `Disable ${user}` })).toBeVisible();

  answer = true;
  await row.getByRole("button", { name: `Disable ${user}` }).click();
  await expect(row.getByRole("status")).toHaveText("Disabled: signed out.");
  await expect(row.getByRole("button", { name: `Enable ${user}` })).toBeVisible();
  // Enabling takes nothing away: it does not ask.
  await row.getByRole("button", { name: `Enable ${user}` }).click();
  await expect(row.getByRole("status")).toHaveText("Enabled.");
  expect(asked).toHaveLength(4);
});

test("the bytes-per-day chart has axes of sizes and dates, legible on a phone", async ({ browser }) => {
  const admin = await adminPage(browser, { viewport: { width: 390, height: 844 } });
  const page = admin.page;
  await openHydrated(page, "/admin");
  const chart = page.locator("figure.column-chart");
  const drawing = chart.getByRole("img", { name: "Bytes uploaded per day, last 30 days" });
  await expect(drawing).toBeVisible();
  const sizes = chart.locator(".y-axis span");
  await expect(sizes).toHaveCount(3);
  await expect(sizes.last()).toHaveText("0 B");
  const dates = chart.locator(".x-axis span");
  await expect(dates).toHaveCount(4);
  // The last date is today's, day and month.
  const today = new Date();
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    today.getUTCMonth()
  ];
  await expect(dates.last()).toHaveText(`${today.getUTCDate()} ${month}`);
  for (const label of [...(await sizes.all()), ...(await dates.all())]) {
    const { fontSize, right } = await label.evaluate((el) => ({
      fontSize: parseFloat(getComputedStyle(el).fontSize),
      right: el.getBoundingClientRect().right,
    }));
    expect(fontSize).toBeGreaterThanOrEqual(12);
    expect(right).toBeLessThanOrEqual(390);
  }
  const width = (await drawing.boundingBox())?.width ?? 0;
  expect(width).toBeGreaterThan(250);
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test("the audit log says what happened in words, with emails and file names", async ({ page, browser }, testInfo) => {
  const { path, upload } = await signUpWithFile(page, testInfo, "minutes.txt", 3000);
  const owner = await page.getByRole("navigation", { name: "Account" }).locator(".user-email").innerText();
  await upload.choose([path]);
  await upload.expectDone("minutes.txt");

  const admin = await adminPage(browser);
  admin.page.on("dialog", (dialog) => dialog.accept());
  await openHydrated(admin.page, `/admin/files?owner=${encodeURIComponent(owner)}`);
  await admin.page.getByRole("button", { name: "Delete minutes.txt" }).click();
  await expect(admin.page.getByRole("status")).toContainText("Deleted 1 files");

  await openHydrated(admin.page, `/admin/audit?actor=${encodeURIComponent(admin.email)}`);
  const log = admin.page.getByRole("table", { name: "Audit log" });
  await expect(log.getByRole("columnheader", { name: "What happened" })).toBeVisible();
  const row = log.getByRole("row").filter({ hasText: "file.delete" });
  await expect(row).toContainText("Deleted minutes.txt (2.9 KiB).");
  await expect(row).toContainText(owner);
  await expect(row.getByRole("cell", { name: "minutes.txt", exact: true })).toBeVisible();
  // Words, not JSON or ids (the test accounts' emails hold a UUID of their own).
  const words = (await row.innerText()).replaceAll(owner, "").replaceAll(admin.email, "");
  expect(words).not.toContain("{");
  expect(words).not.toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-/);
});
