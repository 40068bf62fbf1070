// A returning person on a second app origin: a fresh browser profile (no Keyward session)
// with the passkey synced to it signs in with the passkey alone — no key pasted — approves the
// new app, and that app streams a chat on the key given at sign-up.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { cachedAccessToken, reply, waitForAppState } from "../lib/app-page.js";
import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems, assertNoSecretsInKeywardPages } from "../lib/checks.js";
import { clickSignIn, openApp, signUpThroughApp } from "../lib/flows.js";
import { approve, newProviderKey, screenshot, signIn } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
const device = new Device();
const key = newProviderKey();

before(async () => {
  stack = await startStack("returning-person");
  // The person signed up earlier, through app A, in another browser profile.
  const { context } = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  device.watch(context);
  await signUpThroughApp(context, device, stack.appA.origin, key);
  await context.close();
});
after(async () => {
  await stack?.stop();
});

test("a returning person signs in with the passkey alone on a second app origin, approves, and chats", async () => {
  const { browser, keyward, appB, mock } = stack;
  const watched = await newWatchedContext(browser, { keywardOrigin: keyward.origin });
  const { context } = watched;
  device.watch(context);
  await mock.setBehaviour({ chunks: 6 });
  const upstreamBefore = (await mock.requests()).length;

  const app = await openApp(context, appB.origin);
  assert.ok(appB.origin.startsWith("http://localhost:"), "app B is another origin on Keyward's own host name");
  const popup = await clickSignIn(app, device);
  await popup.waitForURL(`${keyward.origin}/signin?**`);
  await popup.getByRole("heading", { name: "Sign in with your passkey" }).waitFor();
  await screenshot(popup, "returning-person-1-signin");

  await signIn(popup);
  // Passkey sign-in asked for no key: the page went straight to consent, for app B.
  assert.equal(await popup.getByLabel("OpenAI API key").count(), 0);
  await popup.getByRole("heading", { name: "localhost wants to use your OpenAI key" }).waitFor();
  assert.match((await popup.locator(".app .host").textContent()) ?? "", new RegExp(`${appB.origin}$`));
  await screenshot(popup, "returning-person-2-consent");
  const closed = popup.waitForEvent("close");
  await approve(popup);
  await closed;

  await app.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(app, "signed-in");
  assert.match((await reply(app)).text, /^Hello from the mock upstream\./);

  // The chat went upstream with the key from sign-up, and no key was checked again.
  const upstream = (await mock.requests()).slice(upstreamBefore);
  const auth = (r) => Object.fromEntries(r.headers).authorization;
  assert.deepEqual(
    upstream.map((r) => `${r.method} ${r.path} ${auth(r) === `Bearer ${key}` ? "with the person's key" : auth(r)}`),
    ["POST /v1/chat/completions with the person's key"],
  );

  assertNoBrowserProblems(watched.problems);
  assertNoSecretsInKeywardPages(await watched.keywardResponses(), {
    providerKey: key,
    tokens: [await cachedAccessToken(app)],
  });
  await context.close();
});
