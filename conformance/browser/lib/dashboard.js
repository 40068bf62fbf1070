// What a person does on their dashboard (/account), found by headings, labels and button names
// as lib/person.js does for the sign-in pages.
import { signIn } from "./person.js";

/** @param {string} text */
const exactly = (text) => new RegExp(`^\\s*${text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}\\s*$`);

/**
 * Opens the dashboard in a new tab of `context`; without a Keyward session there, signs in with
 * the passkey on `device` first (the sign-in page brings the person back to /account).
 * @param {import("playwright-core").BrowserContext} context
 * @param {import("./authenticator.js").Device} device
 * @param {string} keywardOrigin
 */
export async function openDashboard(context, device, keywardOrigin) {
  const page = await context.newPage();
  await device.ready(page);
  await page.goto(`${keywardOrigin}/account`);
  if (new URL(page.url()).pathname === "/signin") await signIn(page, { landsOn: `${keywardOrigin}/account` });
  await page.getByRole("heading", { name: "Your account", level: 1 }).waitFor();
  return page;
}

/**
 * The card of the app at `origin` among the apps the person allowed.
 * @param {import("playwright-core").Page} page
 * @param {string} origin
 */
export function appCard(page, origin) {
  return page.locator("article.grant").filter({ has: page.locator(".host", { hasText: exactly(origin) }) });
}

/**
 * The confirmation the dashboard shows in a section (#apps, #key, #passkeys) after an action.
 * @param {import("playwright-core").Page} page
 * @param {"apps" | "key" | "passkeys"} section
 */
export async function confirmation(page, section) {
  return ((await page.locator(`#${section} .notice.ok[role="status"]`).textContent()) ?? "").trim();
}

/**
 * A passkey in the list, by its name.
 * @param {import("playwright-core").Page} page
 * @param {string} name
 */
export function passkeyItem(page, name) {
  return page.locator("ul.passkeys > li").filter({ has: page.locator("strong", { hasText: exactly(name) }) });
}

/**
 * Adds a passkey named `name`: Keyward first asks for a passkey the person has (answered by
 * `current`, the device on the page), then the browser creates the new one — on `other`, the
 * person's other device, handed the page for that moment and handing it back after. (The
 * device on the page already holds a passkey for the account; Keyward tells it not to make a
 * second.)
 * @param {import("playwright-core").Page} page
 * @param {{ current: import("./authenticator.js").Device, other: import("./authenticator.js").Device, name: string }} devices
 */
export async function addPasskey(page, { current, other, name }) {
  await page.getByLabel("Add a passkey on another device or password manager").fill(name);
  // The step-up's assertion is in this request; the creation options come in its answer.
  await page.route(
    "**/passkey/add/start",
    async (route) => {
      await current.handOver(page, other);
      await route.continue();
    },
    { times: 1 },
  );
  await page.getByRole("button", { name: "Add a passkey" }).click();
  const added = page.locator('#passkeys .notice.ok[role="status"]');
  const refused = page.locator("[data-passkey-add] [data-kw-error]:not([hidden])");
  await added.or(refused).first().waitFor();
  if (await refused.isVisible()) throw new Error(`Keyward did not add the passkey: ${await refused.textContent()}`);
  await page.waitForURL(/\/account\?done=passkey_added/);
  await other.handOver(page, current);
}

/**
 * Presses the submit button of a form that asks for the passkey first (data-step-up: replacing
 * the key, deleting the account) and waits for the page the form leads to; if the passkey step
 * fails instead, fails with what the form's error box says.
 * @param {import("playwright-core").Page} page
 * @param {string} buttonName
 * @param {string | RegExp} landsOn the URL of the page after the form is sent
 */
export async function submitWithPasskey(page, buttonName, landsOn) {
  const button = page.getByRole("button", { name: buttonName });
  const refused = button.locator("xpath=ancestor::form").locator("[data-kw-error]:not([hidden])");
  const sent = page.waitForURL(landsOn);
  const failed = refused.waitFor().then(async () => {
    throw new Error(`the passkey step before "${buttonName}" failed: ${await refused.textContent()}`);
  });
  sent.catch(() => {});
  failed.catch(() => {}); // the loser of the race below times out later, unheard
  await button.click();
  await Promise.race([sent, failed]);
}
