// The demo chat Keyward serves at /demo, end to end as a person uses it: sign in through the
// popup, a model picker showing only the models the person allowed, a reply streaming in, and
// sign-out revoking the token.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems, assertNoSecretsInKeywardPages } from "../lib/checks.js";
import { approve, newProviderKey, popupFrom, screenshot, signUp } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
before(async () => {
  stack = await startStack("demo");
});
after(async () => {
  await stack?.stop();
});

/** @param {import("playwright-core").Page} page @param {string} state */
const demoState = (page, state) => page.locator(`body[data-state="${state}"]`).waitFor();

test("the /demo chat: sign in, only the allowed models, a streamed reply, sign out", async () => {
  const { browser, keyward, mock } = stack;
  const watched = await newWatchedContext(browser, { keywardOrigin: keyward.origin, viewport: { width: 1100, height: 760 } });
  const { context } = watched;
  const device = new Device();
  device.watch(context);
  const key = newProviderKey();
  const allowed = ["gpt-4.1-mini", "gpt-4o-mini"];

  const demo = await context.newPage();
  await demo.goto(`${keyward.origin}/demo`);
  await demoState(demo, "signed-out");
  await screenshot(demo, "demo-1-signed-out");

  const popup = await popupFrom(context, device, () => demo.getByRole("button", { name: "Sign in with OpenAI" }).click());
  await popup.waitForURL(/\/signin\?/);
  await signUp(popup, key);
  // The demo is part of this Keyward (a client it registers itself), named as such: not an
  // unverified website.
  await popup.getByRole("heading", { name: "Keyward demo chat wants to use your OpenAI key", level: 1 }).waitFor();
  assert.equal(await popup.locator(".badge.verified").textContent(), "Part of this Keyward");
  assert.equal(await popup.locator(".badge.unverified").count(), 0);
  const closed = popup.waitForEvent("close");
  await approve(popup, { models: allowed });
  await closed;

  // The picker lists what the grant allows, not the upstream's whole model list.
  await demoState(demo, "signed-in");
  await demo.locator("#send:not([disabled])").waitFor();
  const offered = await demo.locator("#model option").evaluateAll((options) => options.map((o) => o.value));
  assert.deepEqual(offered, allowed);
  assert.equal(await demo.locator("#model").inputValue(), "gpt-4o-mini", "the preferred allowed model is chosen");

  // A reply streams in: visible while the upstream still holds the end of the stream.
  await mock.setBehaviour({ chunks: 24, event_delay_ms: 20, gate_before_last_event: true });
  await demo.getByLabel("Message").fill("Say hello to the browser suite.");
  await demo.getByRole("button", { name: "Send" }).click();
  const answer = demo.locator('.message[data-role="assistant"] .content');
  await demo.waitForFunction(() => /^Hello from the mock upstream\./.test(document.querySelector('.message[data-role="assistant"] .content')?.textContent ?? ""));
  assert.equal(await demo.locator("body").getAttribute("data-state"), "streaming");
  await screenshot(demo, "demo-2-streaming");
  await mock.release();
  await demoState(demo, "signed-in");
  assert.match((await answer.textContent()) ?? "", /^Hello from the mock upstream\. This reply is streamed one word at a time\.Hello from the mock/);
  assert.equal(await demo.locator('.message[data-role="user"] .content').textContent(), "Say hello to the browser suite.");
  await screenshot(demo, "demo-3-chat");
  await demo.setViewportSize({ width: 390, height: 760 });
  await screenshot(demo, "demo-3-chat-phone");
  const overflow = await demo.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the demo is ${overflow}px wider than a 390px phone`);

  const upstreamChat = (await mock.requests()).filter((r) => r.path === "/v1/chat/completions").at(-1);
  assert.equal(JSON.parse(upstreamChat.body).model, "gpt-4o-mini");

  // Sign out revokes the token: it no longer works at the proxy.
  const token = await demo.evaluate(() => {
    const key = Object.keys(sessionStorage).find((k) => k.startsWith("keyward:token:"));
    return key ? JSON.parse(sessionStorage.getItem(key) ?? "{}").apiKey : null;
  });
  assert.match(token ?? "", /^kw_at_/);
  await demo.getByRole("button", { name: "Sign out" }).click();
  await demoState(demo, "signed-out");
  assert.equal(await demo.locator("#status").textContent(), "Signed out.");
  assert.equal(await demo.getByRole("button", { name: "Sign in with OpenAI" }).isVisible(), true);
  const after = await fetch(`${keyward.origin}/v1/models`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(after.status, 401, "the signed-out token is revoked");

  // After a reload the demo stays signed out (the cached token was forgotten).
  await demo.reload();
  await demoState(demo, "signed-out");

  assertNoBrowserProblems(watched.problems);
  assertNoSecretsInKeywardPages(await watched.keywardResponses(), { providerKey: key, tokens: [token] });
  await context.close();
});
