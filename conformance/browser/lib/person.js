// What a person does on Keyward's pages (sign-up, passkey sign-in, consent), written once so
// the tests read as the story they check. Each step waits for what the person would wait for.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdirSync } from "node:fs";
import { join } from "node:path";

import { artifactsDir } from "./paths.js";

/** A fresh, valid-looking OpenAI key (the mock rejects only keys starting `sk-invalid`). */
export function newProviderKey() {
  return `sk-proj-browser${randomBytes(18).toString("hex")}`;
}

/**
 * Saves a screenshot as artifacts/<name>.png: of the full page, or of one part of it.
 * @param {import("playwright-core").Page | import("playwright-core").Locator} target
 * @param {string} name
 */
export async function screenshot(target, name) {
  mkdirSync(artifactsDir, { recursive: true });
  const path = join(artifactsDir, `${name}.png`);
  if ("goto" in target) await target.screenshot({ path, fullPage: true });
  else await target.screenshot({ path });
  return path;
}

/**
 * Waits for the popup a click opens and gives it the person's passkey device.
 * @param {import("playwright-core").BrowserContext} context
 * @param {import("./authenticator.js").Device} device
 * @param {() => Promise<unknown>} click
 */
export async function popupFrom(context, device, click) {
  const [popup] = await Promise.all([context.waitForEvent("page"), click()]);
  await device.ready(popup);
  return popup;
}

/**
 * From Keyward's sign-in page ("Create an account") or the sign-up page: paste the key, create
 * the passkey; ends on the consent page.
 * @param {import("playwright-core").Page} page
 * @param {string} key
 * @param {{ screenshots?: string }} [options] prefix for screenshots of each page
 */
export async function signUp(page, key, { screenshots } = {}) {
  const keyField = page.getByLabel("OpenAI API key");
  if (!(await keyField.isVisible())) await page.getByRole("link", { name: "Create an account" }).click();
  await keyField.fill(key);
  if (screenshots) await screenshot(page, `${screenshots}-signup`);
  await page.getByRole("button", { name: "Check the key and continue" }).click();
  const create = page.getByRole("button", { name: "Create your passkey" });
  await create.waitFor();
  if (screenshots) await screenshot(page, `${screenshots}-passkey`);
  await create.click();
  await page.waitForURL(/\/consent\?/);
}

/**
 * On Keyward's sign-in page: sign in with the passkey alone; ends on the consent page (or
 * where `landsOn` says, e.g. the dashboard when the person came to sign in there).
 * @param {import("playwright-core").Page} page
 * @param {{ landsOn?: string | RegExp }} [options]
 */
export async function signIn(page, { landsOn = /\/consent\?/ } = {}) {
  await page.getByRole("button", { name: "Sign in with a passkey" }).click();
  await page.waitForURL(landsOn);
}

/**
 * On the consent page: optionally narrow the models, then approve with the passkey (step-up).
 * @param {import("playwright-core").Page} page
 * @param {{ models?: string[] }} [options] allow only these models (default: any model)
 */
export async function approve(page, { models } = {}) {
  if (models) {
    // Ticking a model is all a person does; the page unticks "Any model" by itself.
    for (const model of models) await page.getByLabel(model, { exact: true }).check();
    assert.equal(await page.getByLabel("Any model").isChecked(), false, "ticking a model unticks \"Any model\"");
  }
  await page.getByRole("button", { name: /with your passkey$/ }).click();
}

/**
 * On the consent page: deny.
 * @param {import("playwright-core").Page} page
 */
export async function deny(page) {
  await page.getByRole("button", { name: "Deny" }).click();
}
