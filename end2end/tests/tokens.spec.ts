import { expect, request, test, type Page } from "@playwright/test";
import { adminPage } from "./fixtures/admin";
import { AuthPages } from "./fixtures/auth";
import { openHydrated } from "./fixtures/pages";

// API tokens (issue 25): made from Account, shown once, used by a script with no cookie,
// listed with their last use, revoked by their owner or by an admin. The pages are the
// server's own and fit a phone's screen.

/** Calls `list_files` as a script would: the token alone, from a client with no cookie and
 * no Origin. */
async function listWith(page: Page, token: string) {
  const script = await request.newContext({ baseURL: new URL(page.url()).origin });
  const response = await script.post("/api/list_files", {
    headers: { Authorization: `Bearer ${token}` },
    form: {},
  });
  const answer = { status: response.status(), challenge: response.headers()["www-authenticate"] ?? "" };
  await script.dispose();
  return answer;
}

/** Makes a token named `name` from Account → API tokens; answers it (shown once). */
async function makeToken(page: Page, name: string, scope: string, expires = "") {
  await openHydrated(page, "/account");
  await page.getByRole("link", { name: "API tokens" }).click();
  await expect(page.getByRole("heading", { name: "API tokens", level: 1 })).toBeVisible();
  await page.getByLabel("Name", { exact: true }).fill(name);
  await page.getByRole("radio", { name: new RegExp(`^${scope}:`) }).check();
  await page.getByLabel("Expires after").fill(expires);
  await page.getByRole("button", { name: "Make the token" }).click();
  const made = page.locator("section.new-token");
  await expect(made).toContainText(`Token “${name}” made`);
  await expect(made).toContainText("it is shown only this once");
  const token = (await made.locator("code.api-token").textContent()) ?? "";
  expect(token).toMatch(/^haul_/);
  return token;
}

const row = (page: Page, name: string) => page.getByRole("row").filter({ hasText: name });

test("a token made in Account works for a script, shows its last use, and stops once revoked, on a phone's screen", async ({ browser }) => {
  const page = await (await browser.newContext({ viewport: { width: 390, height: 800 } })).newPage();
  await new AuthPages(page).signUpFresh();
  const token = await makeToken(page, "render node 3", "read", "30d");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  // Listed without the secret; not used yet.
  await expect(row(page, "render node 3")).toContainText("read");
  await expect(row(page, "render node 3")).not.toContainText(token);
  // Not shown again (a fresh look at the page, not the form's answer sent again).
  await page.goto("/tokens");
  await expect(page.getByText(token)).toHaveCount(0);
  await expect(row(page, "render node 3").locator("td.token-state")).toHaveText("Active");

  // A script with the token alone.
  expect((await listWith(page, token)).status).toBe(200);
  await page.goto("/tokens");
  await expect(row(page, "render node 3").locator("td.when").last()).not.toHaveText(/never/i);

  await row(page, "render node 3").getByRole("button", { name: "Revoke" }).click();
  await expect(row(page, "render node 3").locator("td.token-state")).toHaveText("Revoked");
  const refused = await listWith(page, token);
  expect(refused.status).toBe(401);
  expect(refused.challenge).toContain("revoked");
  expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
});

test("a token form with no name says so next to the field and keeps what was typed", async ({ page }) => {
  await new AuthPages(page).signUpFresh();
  // The server's own page: plain HTML, nothing to hydrate.
  await page.goto("/tokens");
  await page.getByLabel("Expires after").fill("12h");
  await page.getByRole("button", { name: "Make the token" }).click();
  await expect(page.locator("#name-error")).not.toBeEmpty();
  await expect(page.getByLabel("Expires after")).toHaveValue("12h");
  await expect(page.locator("section.new-token")).toHaveCount(0);
});

test("an admin sees every user's tokens and revokes one", async ({ browser }) => {
  const user = await (await browser.newContext()).newPage();
  const email = await new AuthPages(user).signUpFresh();
  const token = await makeToken(user, "lab scanner", "upload");
  expect((await listWith(user, token)).status).toBe(200);

  const { page: admin } = await adminPage(browser, { viewport: { width: 390, height: 800 } });
  await admin.goto("/admin/tokens");
  const theirs = admin.getByRole("row").filter({ hasText: "lab scanner" }).filter({ hasText: email });
  await expect(theirs).toHaveCount(1);
  await theirs.getByRole("button", { name: "Revoke" }).click();
  await expect(admin.getByRole("row").filter({ hasText: "lab scanner" }).filter({ hasText: email }).locator("td.token-state")).toHaveText("Revoked");
  expect(await admin.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);

  expect((await listWith(user, token)).status).toBe(401);
  // The owner sees it revoked too.
  await user.goto("/tokens");
  await expect(row(user, "lab scanner").locator("td.token-state")).toHaveText("Revoked");
});
