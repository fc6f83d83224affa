import { expect, test, type Browser, type Page, type Request } from "@playwright/test";
import { AuthPages } from "./fixtures/auth";
import { FilesPage, makeFile, sha256OfFile, throttleUploads, UploadPage } from "./fixtures/files";

// Upload requests: a signed-in user makes a link at /requests; anyone with it passes its gate
// (/r/{token}: the password, if any, then a name and a message) and sends files in through
// /r/{token}/send, with the app's upload engine. What they send lands in the owner's files.

const MIB = 1024 * 1024;
/** The test servers' part size (playwright.config.ts: HAUL_PART_SIZE). */
const PART = 5 * MIB;

/** From /requests, makes a request with these fields filled (by label); answers its URL. */
async function makeRequest(page: Page, fields: Record<string, string>) {
  await page.goto("/requests");
  await expect(page.getByRole("heading", { name: "Upload requests", level: 1 })).toBeVisible();
  for (const [label, value] of Object.entries(fields)) {
    await page.getByLabel(label, { exact: true }).fill(value);
  }
  await page.getByRole("button", { name: "Create request" }).click();
  await expect(page.getByRole("status")).toContainText("Request created.");
  const url = await page.getByLabel("New link").inputValue();
  expect(url).toMatch(/\/r\/[A-Za-z0-9_-]{43}$/);
  return url;
}

/** A browser with nothing of the owner's: a fresh context, signed in as nobody. */
async function visitor(browser: Browser) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** On a request's gate (opened), leaves a name and a message and goes on to the page that
 * sends; waits until it is hydrated. */
async function passGate(guest: Page, url: string, who: { name?: string; message?: string } = {}) {
  if (who.name !== undefined) await guest.getByLabel("Your name (optional)").fill(who.name);
  if (who.message !== undefined) await guest.getByLabel("Message (optional)").fill(who.message);
  await guest.getByRole("button", { name: "Continue" }).click();
  await expect(guest).toHaveURL(`${url}/send`);
  await expect(guest.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(guest.getByRole("heading", { name: "Send files", level: 1 })).toBeVisible();
}

/** Part PUTs to S3, by whether they began before or after `mark()`: the parts S3 accepted
 * (200) of those begun before, and every part sent (whatever the answer) after. */
function partsAcrossReload(page: Page) {
  const partOf = (request: Request) => Number(new URL(request.url()).searchParams.get("partNumber"));
  const isPart = (request: Request) => request.method() === "PUT" && new URL(request.url()).searchParams.has("partNumber");
  const begunAfter = new WeakSet<Request>();
  const state = { marked: false, storedBefore: [] as number[], sentAfter: [] as number[] };
  page.on("request", (request) => {
    if (!isPart(request) || !state.marked) return;
    begunAfter.add(request);
    state.sentAfter.push(partOf(request));
  });
  page.on("requestfinished", async (request) => {
    if (!isPart(request) || begunAfter.has(request)) return;
    const response = await request.response();
    if (response?.status() === 200) state.storedBefore.push(partOf(request));
  });
  return {
    /** Parts begun from now on count as sent after. */
    mark: () => {
      state.marked = true;
    },
    storedBefore: () => [...state.storedBefore],
    sentAfter: () => [...state.sentAfter],
  };
}

test("a visitor's 300 MiB upload through a request resumes after a reload; the owner gets it with the sender's words", async ({
  page,
  browser,
}, testInfo) => {
  test.setTimeout(300_000);
  const name = "harbour survey, dive 4, raw sonar.bin";
  const size = 300 * MIB;
  const parts = size / PART;
  const path = testInfo.outputPath(name);
  const hash = makeFile(path, size);

  await new AuthPages(page).signUpFresh();
  const url = await makeRequest(page, {
    Title: "Sonar data from the survey",
    "Your name, as visitors see it": "Harbour office",
    "Note (optional)": "The raw files, please.",
  });

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByRole("heading", { name: "Sonar data from the survey" })).toBeVisible();
  await expect(guest.getByText("Harbour office asks you to send files")).toBeVisible();
  await expect(guest.getByText("The raw files, please.")).toBeVisible();
  const message = "Dive 4 only; dive 5 follows tomorrow.";
  await passGate(guest, url, { name: "Bo", message });

  // Slow enough to reload half-way.
  const cdp = await throttleUploads(guest, 8 * MIB);
  const puts = partsAcrossReload(guest);
  const upload = new UploadPage(guest);
  await upload.choose([path]);
  const row = upload.row(name);
  await expect(row).toHaveAttribute("data-phase", "Uploading");
  await expect.poll(() => puts.storedBefore().length, { timeout: 180_000 }).toBeGreaterThanOrEqual(parts / 2);
  await expect(row).toHaveAttribute("data-phase", "Uploading");

  // A reload may ask first (the page sends): the visitor means it.
  guest.on("dialog", (dialog) => void (dialog.type() === "beforeunload" ? dialog.accept() : dialog.dismiss()));
  puts.mark();
  await guest.reload();
  await cdp.detach();
  await expect(guest.locator("body")).toHaveAttribute("data-hydrated", "true");
  await expect(guest.getByRole("heading", { name: "Send files", level: 1 })).toBeVisible();
  // This browser remembers the upload for this link.
  const unfinished = guest.getByRole("region", { name: "Unfinished uploads" });
  await expect(unfinished).toContainText(`${name} (300.0 MiB)`);
  const stored = new Set(puts.storedBefore());
  expect(stored.size).toBeGreaterThanOrEqual(parts / 2);
  expect(stored.size).toBeLessThan(parts);

  await upload.choose([path]);
  await expect(row).toHaveAttribute("data-phase", "Done", { timeout: 240_000 });
  await expect(upload.progress(name)).toHaveAttribute("value", "100");
  await expect(unfinished).toHaveCount(0);
  // What S3 held before the reload was not sent again; the rest was.
  const sentAfter = puts.sentAfter();
  expect(sentAfter.filter((part) => stored.has(part)), "parts sent again after the reload").toEqual([]);
  expect(sentAfter.length).toBeGreaterThan(0);
  expect(new Set(sentAfter).size).toBeLessThanOrEqual(parts - stored.size);

  // The visitor's page of the request lists it as received.
  await guest.goto(url);
  await expect(guest.getByText("Sending as Bo.")).toBeVisible();
  await expect(guest.getByRole("region", { name: "What you sent" }).getByRole("row", { name })).toContainText("Received");

  // The owner: in My files with the sender's words, and one new notification.
  const files = new FilesPage(page);
  await files.open();
  const account = page.getByRole("navigation", { name: "Account" });
  await expect(account.getByRole("link", { name: "Notifications (1)", exact: true })).toBeVisible();
  await expect(files.row(name)).toContainText("Complete");
  await expect(files.row(name)).toContainText(`Received from Bo: “${message}”`);
  expect(sha256OfFile(await files.download(name))).toBe(hash);

  await page.goto("/notifications");
  await expect(page.getByRole("heading", { name: "Notifications", level: 1 })).toBeVisible();
  const listed = page.getByRole("listitem").filter({ hasText: `through your request` });
  await expect(listed).toHaveCount(1);
  await expect(listed).toContainText(`Bo sent “${name}” (300.0 MiB) through your request “Sonar data from the survey”.`);
  await expect(listed).toContainText("New");
  await expect(listed).toContainText(message);
  // Seen: the count is gone.
  await files.open();
  await expect(account.getByRole("link", { name: "Notifications", exact: true })).toBeVisible();
  await guest.context().close();
});

test("a request's password: a wrong one is refused next to the field, the right one lets the visitor send", async ({
  page,
  browser,
}) => {
  await new AuthPages(page).signUpFresh();
  const url = await makeRequest(page, { Title: "Signed contracts", "Password (optional)": "kite over the harbour" });

  const guest = await visitor(browser);
  await guest.goto(url);
  await expect(guest.getByRole("heading", { name: "Signed contracts" })).toBeVisible();
  const password = guest.getByLabel("Password", { exact: true });
  await password.fill("kite over the river");
  await guest.getByLabel("Your name (optional)").fill("Di");
  const refused = guest.waitForResponse((response) => response.request().method() === "POST" && response.url() === url);
  await guest.getByRole("button", { name: "Continue" }).click();
  expect((await refused).status()).toBe(401);
  await expect(guest).toHaveURL(url);
  await expect(password).toHaveAttribute("aria-invalid", "true");
  await expect(password).toHaveAccessibleDescription("That is not the password of this request.");
  await expect(guest.locator("#password-error")).toHaveText("That is not the password of this request.");
  // What was typed besides the password stays.
  await expect(guest.getByLabel("Your name (optional)")).toHaveValue("Di");
  // Refused: the page that sends is not open to this visitor.
  await guest.goto(`${url}/send`);
  await expect(guest).toHaveURL(url);
  await expect(guest.getByLabel("Password", { exact: true })).toBeVisible();

  await guest.getByLabel("Password", { exact: true }).fill("kite over the harbour");
  await passGate(guest, url);
  await expect(guest.getByLabel("Choose files")).toBeAttached();
  await guest.context().close();
});

test("a visitor sees nothing of the owner's files, and My files asks them to sign in", async ({ page, browser }, testInfo) => {
  test.setTimeout(120_000);
  const secret = "owner-only ledger QX-7731.xlsx";
  const secretPath = testInfo.outputPath(secret);
  makeFile(secretPath, 4321);
  const email = await new AuthPages(page).signUpFresh();
  const own = new UploadPage(page);
  await own.open();
  await own.choose([secretPath]);
  await own.expectDone(secret);
  const files = new FilesPage(page);
  await files.open();
  const share = await page.getByRole("link", { name: `Share ${secret}` }).getAttribute("href");
  const secretId = /^\/files\/([0-9a-f-]{36})\/share$/.exec(share ?? "")?.[1];
  expect(secretId, share ?? "").toBeTruthy();
  const url = await makeRequest(page, { Title: "Receipts for March" });
  const token = url.split("/r/")[1];

  const guest = await visitor(browser);
  const mine = "visitor receipt.pdf";
  const minePath = testInfo.outputPath(mine);
  makeFile(minePath, 2345);
  const nothingOfTheOwners = async () => {
    const text = await guest.locator("body").innerText();
    expect(text).not.toContain("ledger QX-7731");
    expect(text).not.toContain(email);
  };

  await guest.goto(url);
  await expect(guest.getByRole("heading", { name: "Receipts for March" })).toBeVisible();
  await nothingOfTheOwners();
  await passGate(guest, url, { name: "Cy" });
  await nothingOfTheOwners();
  const upload = new UploadPage(guest);
  await upload.choose([minePath]);
  await upload.expectDone(mine);
  await nothingOfTheOwners();

  // The request's page lists what this visitor sent, and only that.
  await guest.goto(url);
  const sent = guest.getByRole("region", { name: "What you sent" });
  await expect(sent.getByRole("row", { name: mine })).toContainText("Received");
  await expect(sent.getByRole("row")).toHaveCount(2);
  await nothingOfTheOwners();

  // Asked directly, the visitor's calls through the request answer nothing of the owner's.
  const origin = new URL(url).origin;
  const via = { "haul-via": token, Origin: origin };
  const byId = await guest.request.post(`${origin}/api/get_file`, { form: { file_id: secretId as string }, headers: via });
  expect(byId.status()).toBe(404);
  expect(await byId.text()).not.toContain("QX-7731");
  const same = await guest.request.post(`${origin}/api/find_same_file`, { form: { name: secret, size: "4321" }, headers: via });
  expect(same.status()).toBe(200);
  expect(await same.json()).toBeNull();
  const listed = await guest.request.post(`${origin}/api/list_files`, { form: {}, headers: via });
  expect(listed.status()).toBe(401);
  expect(await listed.text()).not.toContain("QX-7731");

  // My files is for an account: the visitor is asked to sign in.
  await guest.goto(`${origin}/files`);
  await expect(guest).toHaveURL(`${origin}/signin?next=/files`);
  await expect(guest.getByRole("heading", { name: "Sign in" })).toBeVisible();
  await nothingOfTheOwners();

  // The owner has both.
  await files.open();
  await expect(files.row(secret)).toContainText("Complete");
  await expect(files.row(mine)).toContainText("Received from Cy");
  await guest.context().close();
});

test("a closed request answers that it is not available", async ({ page, browser }) => {
  await new AuthPages(page).signUpFresh();
  const title = "Photos from the launch";
  const url = await makeRequest(page, { Title: title });

  // A visitor who passed the gate while it was open, and one who comes after.
  const early = await visitor(browser);
  await early.goto(url);
  await passGate(early, url, { name: "Ed" });

  await page.goto("/requests");
  const row = page.getByRole("region", { name: "Your requests" }).getByRole("row", { name: new RegExp(title) });
  await expect(row).toContainText("Open");
  await row.getByRole("button", { name: `Close ${title}` }).click();
  await expect(page).toHaveURL("/requests");
  await expect(row).toContainText("Closed");
  await expect(row.getByRole("button", { name: `Close ${title}` })).toHaveCount(0);

  const late = await visitor(browser);
  for (const guest of [early, late]) {
    const response = await guest.goto(url);
    expect([404, 410]).toContain(response?.status());
    await expect(guest.getByRole("heading", { name: "This request is not available" })).toBeVisible();
    await expect(guest.getByRole("button", { name: "Continue" })).toHaveCount(0);
    // The page that sends is closed too: it leads back to the same answer.
    const send = await guest.goto(`${url}/send`);
    await expect(guest).toHaveURL(url);
    expect([404, 410]).toContain(send?.status());
    await expect(guest.getByRole("heading", { name: "This request is not available" })).toBeVisible();
    await expect(guest.getByText(title)).toHaveCount(0);
  }
  await early.context().close();
  await late.context().close();
});
