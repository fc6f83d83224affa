import { expect, test } from "@playwright/test";
import { openHydrated, watchForErrors } from "./fixtures/pages";

test.describe("without JavaScript", () => {
  test.use({ javaScriptEnabled: false });

  test("the home page is rendered on the server", async ({ page }) => {
    await page.goto("/");
    await expect(page.getByRole("heading", { level: 1, name: "Heavy uploads, straight to S3" })).toBeVisible();
    await expect(page.getByRole("link", { name: "Haul" })).toBeVisible();
    await expect(page).toHaveTitle(/Haul/);
    // Nothing ran in the browser, so the page was never hydrated.
    await expect(page.locator("body")).not.toHaveAttribute("data-hydrated", "true");
  });
});

test("the home page hydrates without errors", async ({ page }) => {
  const errors = watchForErrors(page);
  await openHydrated(page, "/");
  await expect(page.getByRole("heading", { level: 1, name: "Heavy uploads, straight to S3" })).toBeVisible();
  await expect(page.getByRole("heading", { name: "Resumable" })).toBeVisible();
  expect(errors).toEqual([]);
});
