import { expect, test } from "@playwright/test";
import { userCommand } from "./fixtures/admin";
import { AuthPages, newEmail, PASSWORD } from "./fixtures/auth";
import { openHydrated, watchForErrors } from "./fixtures/pages";

test("a new user signs up, signs out, signs in again and sees their email", async ({ page }) => {
  const errors = watchForErrors(page);
  const auth = new AuthPages(page);
  const email = newEmail();

  await auth.signUp(email);
  await expect(page).toHaveURL("/upload");
  await auth.expectSignedInAs(email);

  await auth.signOut();
  await auth.expectSignedOut();

  await auth.signIn(email);
  await auth.expectSignedInAs(email);

  // The session survives a reload: it lives on the server, not in the page.
  await page.reload();
  await auth.expectSignedInAs(email);
  expect(errors).toEqual([]);
});

test("a wrong password shows an error on the form", async ({ page }) => {
  const auth = new AuthPages(page);
  const email = newEmail();
  await auth.signUp(email);
  await auth.expectSignedInAs(email);
  await auth.signOut();
  await auth.expectSignedOut();

  await auth.signIn(email, "not the right password");
  await expect(page.getByRole("alert").filter({ hasText: "Wrong email or password." })).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
  await auth.expectSignedOut();
});

test("a disabled account is told so on the sign-in form, but only with the right password", async ({ page }) => {
  const auth = new AuthPages(page);
  const email = await auth.signUpFresh();
  await auth.signOut();
  await auth.expectSignedOut();
  userCommand("disable", email);

  await auth.signIn(email, "not the right password");
  await expect(page.getByRole("alert").filter({ hasText: "Wrong email or password." })).toBeVisible();
  await expect(page.getByText("disabled")).toHaveCount(0);

  await auth.fillSignIn(email);
  await expect(
    page.getByRole("alert").filter({
      hasText: "This account is disabled. Ask your Haul administrator to enable it again.",
    }),
  ).toBeVisible();
  await expect(page).toHaveURL(/\/signin/);
  await auth.expectSignedOut();
});

test("sign-up problems show next to their field", async ({ page }) => {
  const auth = new AuthPages(page);
  await auth.signUp("not-an-email", "short");
  const email = page.getByLabel("Email");
  const password = page.getByLabel("Password");
  await expect(email).toHaveAttribute("aria-invalid", "true");
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(page.getByText("Enter a valid email address, like name@example.com.")).toBeVisible();
  await expect(page.getByText("Use at least 8 characters for your password.")).toBeVisible();
  await expect(page.getByText("8 to 1024 characters.")).toBeVisible();
});

test("a page that needs an account sends you to sign in and back", async ({ page }) => {
  const auth = new AuthPages(page);
  const email = newEmail();
  await auth.signUp(email);
  await auth.signOut();
  await auth.expectSignedOut();

  await page.goto("/account");
  await expect(page).toHaveURL("/signin?next=/account");
  await openHydrated(page, "/signin?next=/account");
  await auth.fillSignIn(email);
  await expect(page).toHaveURL("/account");
  await expect(page.getByRole("heading", { name: "Your account" })).toBeVisible();
  await expect(page.getByRole("main").getByText(email, { exact: true })).toBeVisible();
});

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("sign up, sign out and sign in work as plain forms", async ({ page }) => {
    const auth = new AuthPages(page, false);
    const email = newEmail();
    await auth.signUp(email, PASSWORD);
    await expect(page).toHaveURL("/upload");
    await auth.expectSignedInAs(email);

    await auth.signOut();
    await auth.expectSignedOut();

    await auth.signIn(email, "not the right password");
    await expect(page.getByRole("alert").filter({ hasText: "Wrong email or password." })).toBeVisible();

    await auth.fillSignIn(email, PASSWORD);
    await auth.expectSignedInAs(email);
  });
});
