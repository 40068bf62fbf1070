// What an app meets when sign-in does not simply succeed: the person denies, the person closes
// the popup, another site forges the answer, the person revokes the app's access later. Each
// must reach the app as something it can show — the helper's and the openai SDK's own error
// classes — or, for the forgery, not reach it at all.
import assert from "node:assert/strict";
import { after, before, beforeEach, test } from "node:test";

import { appError, cachedAccessToken, reply, waitForAppState } from "../lib/app-page.js";
import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems } from "../lib/checks.js";
import { clickSignIn, openApp, signUpThroughApp } from "../lib/flows.js";
import { approve, deny, newProviderKey, screenshot } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
/** @type {Awaited<ReturnType<typeof newWatchedContext>>} */
let watched;
const device = new Device();

// One browser profile where the person signed up (through app A) and still has a Keyward
// session: each test opens app B in a new tab (empty sessionStorage, so no cached token), and
// the popup goes straight to the consent screen.
before(async () => {
  stack = await startStack("failures");
  watched = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  device.watch(watched.context);
  await signUpThroughApp(watched.context, device, stack.appA.origin, newProviderKey());
  assertNoBrowserProblems(watched.problems);
});
// Each test answers for the browser problems of its own steps.
beforeEach(() => {
  watched.problems.length = 0;
});
after(async () => {
  await stack?.stop();
});

/** New tab on app B, "Sign in and chat", popup on the consent page. */
async function toConsent() {
  const app = await openApp(watched.context, stack.appB.origin);
  const popup = await clickSignIn(app, device);
  await popup.waitForURL(`${stack.keyward.origin}/consent?**`);
  await popup.getByRole("button", { name: /with your passkey$/ }).waitFor();
  return { app, popup };
}

test("denying on the consent screen rejects requestOpenAIAPI() with AccessDeniedError", async () => {
  const { app, popup } = await toConsent();
  const closed = popup.waitForEvent("close");
  await deny(popup);
  await closed;
  await waitForAppState(app, "failed");
  const error = await appError(app);
  assert.equal(error.name, "AccessDeniedError", error.text);
  assert.match(error.text, /declined/);
  assertNoBrowserProblems(watched.problems);
  await app.close();
});

test("closing the popup rejects requestOpenAIAPI() with PopupClosedError", async () => {
  const { app, popup } = await toConsent();
  await popup.close(); // the person closes the window
  await waitForAppState(app, "failed", 5_000);
  const error = await appError(app);
  assert.equal(error.name, "PopupClosedError", error.text);
  assertNoBrowserProblems(watched.problems);
  await app.close();
});

test("a sign-in slower than timeoutMs rejects with TimeoutError and the helper closes the popup", async () => {
  const app = await openApp(watched.context, stack.appB.origin, "?timeoutMs=2000");
  const popup = await clickSignIn(app, device);
  const closed = popup.waitForEvent("close");
  await popup.waitForURL(`${stack.keyward.origin}/consent?**`);
  // The person does nothing.
  await waitForAppState(app, "failed", 5_000);
  const error = await appError(app);
  assert.equal(error.name, "TimeoutError", error.text);
  await closed;
  assertNoBrowserProblems(watched.problems);
  await app.close();
});

test("an OAuth error from Keyward (a scope it does not know) rejects with KeywardError and its code", async () => {
  const app = await openApp(watched.context, stack.appB.origin, "?scope=openai.chat%20openai.everything");
  const popup = await clickSignIn(app, device);
  await waitForAppState(app, "failed");
  const error = await appError(app);
  assert.equal(error.name, "KeywardError", error.text);
  assert.equal(error.code, "invalid_scope");
  // Answered through web_message without showing the person anything; the popup may well be
  // gone already (isClosed() and the listener are checked in the same tick: no close slips by).
  if (!popup.isClosed()) await popup.waitForEvent("close");
  assertNoBrowserProblems(watched.problems);
  await app.close();
});

test("a forged authorization response from another origin is ignored; the real one still wins", async () => {
  const { context } = watched;
  const authorize = context.waitForEvent("request", (r) => r.url().startsWith(`${stack.keyward.origin}/oauth/authorize?`));
  /** @type {string[]} */
  const tokenRequests = [];
  const onRequest = (r) => {
    if (r.url() === `${stack.keyward.origin}/oauth/token` && r.method() === "POST") tokenRequests.push(r.postData() ?? "");
  };
  context.on("request", onRequest);
  try {
    const { app, popup } = await toConsent();
    const { searchParams } = new URL((await authorize).url());

    // Another site, framed in the app's page, posts Keyward-shaped answers to the app window:
    // a code and an access_denied, with the request's real state and issuer — everything right
    // except who sends it.
    const forger = new URL("/forge.html", stack.otherSite.origin);
    forger.searchParams.set("state", searchParams.get("state") ?? "");
    forger.searchParams.set("iss", stack.keyward.origin);
    await app.evaluate((src) => {
      const frame = document.createElement("iframe");
      frame.src = src;
      document.body.append(frame);
    }, forger.href);
    await app.waitForFunction(
      (origin) => window.appMessages.filter((m) => m.origin === origin && m.type === "authorization_response").length === 2,
      stack.otherSite.origin,
    );
    // The messages arrived; give the helper time to (wrongly) act on them.
    await app.waitForTimeout(700);
    assert.equal(await app.locator("body").getAttribute("data-state"), "signing-in", "the app still waits for Keyward");
    assert.equal((await appError(app)).text, "");
    assert.deepEqual(tokenRequests, [], "the forged code was never sent to the token endpoint");
    assert.equal(popup.isClosed(), false);

    const closed = popup.waitForEvent("close");
    await approve(popup);
    await closed;
    await app.locator('#output[data-done="true"]').waitFor();
    await waitForAppState(app, "signed-in");
    assert.equal(tokenRequests.length, 1);
    assert.ok(!tokenRequests[0].includes("forged-code"));
    assertNoBrowserProblems(watched.problems);
    await app.close();
  } finally {
    context.off("request", onRequest);
  }
});

test("after the access is revoked, the app's next call fails with a 401 AuthenticationError it can show", async () => {
  const { app, popup } = await toConsent();
  const closed = popup.waitForEvent("close");
  await approve(popup);
  await closed;
  await app.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(app, "signed-in");
  const token = await cachedAccessToken(app);

  // The person revokes the app (the dashboard does the same); here through RFC 7009.
  const revoked = await fetch(`${stack.keyward.origin}/oauth/revoke`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ token, client_id: stack.appB.origin }),
  });
  assert.equal(revoked.status, 200);

  // "Chat again" uses the cached token: the openai SDK gets Keyward's 401 in OpenAI's shape.
  await app.getByRole("button", { name: "Chat again" }).click();
  await waitForAppState(app, "failed");
  const error = await appError(app);
  assert.equal(error.name, "AuthenticationError", error.text);
  assert.equal(error.status, "401");
  assert.match(error.text, /^AuthenticationError: 401 .*revoked/);
  assert.equal((await reply(app)).chunks, 0, "nothing was streamed");
  await screenshot(app, "failures-revoked-401");
  assertNoBrowserProblems(watched.problems);
  await app.close();
});
