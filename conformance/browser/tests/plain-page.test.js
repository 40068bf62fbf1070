// The README's plain-page variant: a <script type="module"> on the app's origin imports the
// helper straight from Keyward's /sdk.js (cross-origin, so Keyward must serve it with CORS),
// calls requestOpenAIAPI() with no options (the issuer is where /sdk.js came from, the client
// id is the page's origin) and chats with plain fetch.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems } from "../lib/checks.js";
import { approve, newProviderKey, popupFrom, signUp } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
before(async () => {
  stack = await startStack("plain-page");
});
after(async () => {
  await stack?.stop();
});

test("a plain page importing Keyward's /sdk.js signs in with requestOpenAIAPI() and no options, then chats", async () => {
  const { browser, keyward, appA } = stack;
  const watched = await newWatchedContext(browser, { keywardOrigin: keyward.origin });
  const { context } = watched;
  const device = new Device();
  device.watch(context);

  const page = await context.newPage();
  const sdk = page.waitForResponse(`${keyward.origin}/sdk.js`);
  await page.goto(`${appA.origin}/plain.html`);
  assert.equal((await sdk).status(), 200);

  const authorizeRequest = context.waitForEvent("request", (r) => r.url().includes("/oauth/authorize?"));
  const popup = await popupFrom(context, device, () => page.getByRole("button", { name: "Sign in with OpenAI" }).click());
  await popup.waitForURL(`${keyward.origin}/signin?**`);
  // No options: the issuer is where /sdk.js came from, the client the page's origin.
  const authorize = new URL((await authorizeRequest).url());
  assert.equal(authorize.origin, keyward.origin);
  assert.equal(authorize.searchParams.get("client_id"), appA.origin);
  assert.equal(authorize.searchParams.get("redirect_uri"), `${appA.origin}/`);
  assert.equal(authorize.searchParams.get("response_mode"), "web_message");
  assert.equal(authorize.searchParams.get("code_challenge_method"), "S256");
  await signUp(popup, newProviderKey());
  await popup.getByRole("heading", { name: "127.0.0.1 wants to use your OpenAI key" }).waitFor();
  const closed = popup.waitForEvent("close");
  await approve(popup);
  await closed;

  await page.locator("#out").filter({ hasText: /\S/ }).waitFor();
  assert.match((await page.locator("#out").textContent()) ?? "", /^Hello from the mock upstream\./);
  assertNoBrowserProblems(watched.problems);
  await context.close();
});
