// When popups are not used: the browser's popup blocker stops a popup asked for outside a
// click (PopupBlockedError, which points to redirect mode), and redirect mode signs in within
// the app's own tab, finished by handleRedirectCallback() when Keyward sends the person back.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";

import { appError, reply, waitForAppState } from "../lib/app-page.js";
import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems, assertNoSecretsInKeywardPages } from "../lib/checks.js";
import { openApp } from "../lib/flows.js";
import { approve, deny, newProviderKey, signUp } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
/** @type {Awaited<ReturnType<typeof newWatchedContext>>} */
let watched;
const device = new Device();
const key = newProviderKey();

before(async () => {
  stack = await startStack("redirect");
  watched = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  device.watch(watched.context);
});
// Each test answers for the browser problems of its own steps.
beforeEach(() => {
  watched.problems.length = 0;
});
after(async () => {
  await stack?.stop();
});

test("a popup asked for outside a click is blocked by the browser: PopupBlockedError, pointing to redirect mode", async () => {
  const { context } = watched;
  const app = await context.newPage();
  const opened = [];
  const onPage = (page) => opened.push(page.url());
  context.on("page", onPage);
  await app.goto(`${stack.appA.origin}/?signin-on-load`);
  await waitForAppState(app, "failed");
  context.off("page", onPage);
  const error = await appError(app);
  assert.equal(error.name, "PopupBlockedError", error.text);
  assert.match(error.text, /mode: "redirect"/);
  assert.deepEqual(opened, [], "no popup window opened");
  await app.close();
});

test("redirect mode: sign-up and consent in the app's tab, then handleRedirectCallback() and a streamed chat", async () => {
  const app = await openApp(watched.context, stack.appA.origin);
  await app.getByRole("button", { name: "Sign in (redirect)" }).click();
  await app.waitForURL(`${stack.keyward.origin}/signin?**`);
  await signUp(app, key);
  await approve(app);

  // Keyward sends the tab back to the app's redirect URI with the code; the app finishes the
  // sign-in on load and streams.
  await app.waitForURL(`${stack.appA.origin}/**`);
  await app.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(app, "signed-in");
  assert.match((await reply(app)).text, /^Hello from the mock upstream\./);
  assert.equal(app.url(), `${stack.appA.origin}/`, "the code, state and iss were removed from the address bar");

  // The token is cached for the tab: "Chat again" streams without another trip to Keyward.
  const keywardRequests = [];
  const onRequest = (r) => r.url().startsWith(stack.keyward.origin + "/oauth/") && keywardRequests.push(r.url());
  app.on("request", onRequest);
  await app.getByRole("button", { name: "Chat again" }).click();
  await app.locator('#output[data-chats="2"]').waitFor();
  await waitForAppState(app, "signed-in");
  app.off("request", onRequest);
  assert.deepEqual(keywardRequests, []);

  // Reloading the page after the callback does not replay the code.
  await app.reload();
  await waitForAppState(app, "signed-out");
  assert.equal((await appError(app)).text, "");

  assertNoBrowserProblems(watched.problems);
  assertNoSecretsInKeywardPages(await watched.keywardResponses(), { providerKey: key });
  await app.close();
});

test("redirect mode: denying comes back as AccessDeniedError from handleRedirectCallback()", async () => {
  // The person still has a Keyward session from the previous test: straight to consent.
  const app = await openApp(watched.context, stack.appB.origin);
  await app.getByRole("button", { name: "Sign in (redirect)" }).click();
  await app.waitForURL(`${stack.keyward.origin}/consent?**`);
  await deny(app);
  await app.waitForURL(`${stack.appB.origin}/**`);
  await waitForAppState(app, "failed");
  const error = await appError(app);
  assert.equal(error.name, "AccessDeniedError", error.text);
  assert.equal(app.url(), `${stack.appB.origin}/`);
  assertNoBrowserProblems(watched.problems);
  await app.close();
});
