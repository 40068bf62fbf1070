// Whole journeys through the test app that several test files start from.
import { waitForAppState } from "./app-page.js";
import { approve, popupFrom, signUp } from "./person.js";

/**
 * Opens the test app at `appOrigin` in a new tab and returns the tab once the app is ready.
 * @param {import("playwright-core").BrowserContext} context
 * @param {string} appOrigin
 * @param {string} [query] e.g. "?timeoutMs=2000" (options the app passes to the helper)
 */
export async function openApp(context, appOrigin, query = "") {
  const app = await context.newPage();
  await app.goto(`${appOrigin}/${query}`);
  await waitForAppState(app, "signed-out");
  return app;
}

/**
 * Clicks the app's "Sign in and chat" and returns the Keyward popup it opened.
 * @param {import("playwright-core").Page} app
 * @param {import("./authenticator.js").Device} device
 */
export function clickSignIn(app, device) {
  return popupFrom(app.context(), device, () => app.getByRole("button", { name: "Sign in and chat" }).click());
}

/**
 * A new person signs up through the app's popup and approves it; resolves when the app has
 * streamed its first chat.
 * @param {import("playwright-core").BrowserContext} context
 * @param {import("./authenticator.js").Device} device
 * @param {string} appOrigin
 * @param {string} key the person's OpenAI key
 */
export async function signUpThroughApp(context, device, appOrigin, key) {
  const app = await openApp(context, appOrigin);
  const popup = await clickSignIn(app, device);
  await popup.waitForURL(/\/signin\?/);
  await signUp(popup, key);
  const closed = popup.waitForEvent("close");
  await approve(popup);
  await closed;
  await app.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(app, "signed-in");
  return app;
}
