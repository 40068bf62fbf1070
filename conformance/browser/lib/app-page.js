// Reading the test app (app/app.js) as a person sees it: its state, its error line, its reply.
import assert from "node:assert/strict";

/**
 * Waits until the app's body[data-state] is `state`; on timeout says what it showed instead.
 * @param {import("playwright-core").Page} page
 * @param {string} state
 */
export async function waitForAppState(page, state, timeout = 15_000) {
  try {
    await page.locator(`body[data-state="${state}"]`).waitFor({ timeout });
  } catch (err) {
    const shown = await describeApp(page).catch(() => "(page gone)");
    throw new Error(`the app never reached state "${state}"; it shows: ${shown}`, { cause: err });
  }
}

/** @param {import("playwright-core").Page} page */
export async function describeApp(page) {
  const state = await page.locator("body").getAttribute("data-state");
  const status = await page.locator("#status").textContent();
  const error = await page.locator("#error").textContent();
  return JSON.stringify({ state, status, error });
}

/**
 * The error line: the class the app matched (instanceof), the HTTP status, the error code, the text.
 * @param {import("playwright-core").Page} page
 */
export async function appError(page) {
  const box = page.locator("#error");
  return {
    name: await box.getAttribute("data-error"),
    status: await box.getAttribute("data-status"),
    code: await box.getAttribute("data-code"),
    text: (await box.textContent()) ?? "",
  };
}

/**
 * The access token the helper cached in this tab's sessionStorage (what the app uses as apiKey).
 * @param {import("playwright-core").Page} page
 */
export async function cachedAccessToken(page) {
  const token = await page.evaluate(() => {
    for (let i = 0; i < sessionStorage.length; i++) {
      const key = sessionStorage.key(i);
      if (key?.startsWith("keyward:token:")) return JSON.parse(sessionStorage.getItem(key) ?? "{}").apiKey ?? null;
    }
    return null;
  });
  assert.ok(token, "the app should hold a cached access token");
  return /** @type {string} */ (token);
}

/**
 * The reply so far: its text, how many chunks, whether the stream ended.
 * @param {import("playwright-core").Page} page
 */
export async function reply(page) {
  const output = page.locator("#output");
  return {
    text: (await output.textContent()) ?? "",
    chunks: await output.locator(".chunk").count(),
    done: (await output.getAttribute("data-done")) === "true",
  };
}

/**
 * Clicks the app's "Chat again" (the cached token, no popup) and waits for the call to end:
 * a completed reply, or an error on the error line. Returns the error, or null.
 * @param {import("playwright-core").Page} page
 */
export async function chatAgain(page) {
  const output = page.locator("#output");
  const before = Number((await output.getAttribute("data-chats")) ?? 0);
  // The click handler empties the error line before it calls anything.
  await page.getByRole("button", { name: "Chat again" }).click();
  await page.waitForFunction(
    (n) => document.getElementById("error").textContent !== "" || Number(document.getElementById("output").dataset.chats ?? 0) > n,
    before,
  );
  const error = await appError(page);
  return error.text === "" ? null : error;
}
