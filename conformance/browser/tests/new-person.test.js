// A new person, from the app's "Sign in" button to a streamed chat: sign-up with a key in the
// popup, passkey, consent, then the official openai SDK streaming through Keyward's proxy —
// with the reply visible on the page before the stream has ended.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { cachedAccessToken, reply, waitForAppState } from "../lib/app-page.js";
import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems, assertNoSecretsInKeywardPages } from "../lib/checks.js";
import { approve, newProviderKey, popupFrom, screenshot, signUp } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
before(async () => {
  stack = await startStack("new-person");
});
after(async () => {
  await stack?.stop();
});

const CHUNKS = 20;

/** What the first test leaves for the second to inspect. */
let flow;

test("a new person signs up in the popup, approves, and the app streams a chat through the official openai SDK", async () => {
  const { browser, keyward, appA, mock } = stack;
  const watched = await newWatchedContext(browser, { keywardOrigin: keyward.origin });
  const { context } = watched;
  const device = new Device();
  device.watch(context);
  const key = newProviderKey();
  // The mock sends every content delta 30 ms apart and then holds the end of the stream
  // (finish reason, usage, [DONE]) until the test releases it.
  await mock.setBehaviour({ chunks: CHUNKS, event_delay_ms: 30, gate_before_last_event: true });

  const app = await context.newPage();
  await app.goto(appA.origin);
  await waitForAppState(app, "signed-out");

  const popup = await popupFrom(context, device, () => app.getByRole("button", { name: "Sign in and chat" }).click());
  await popup.waitForURL(`${keyward.origin}/signin?**`);
  assert.deepEqual(popup.viewportSize(), { width: 480, height: 720 }, "the helper opens a 480×720 popup");
  await screenshot(popup, "new-person-1-signin");

  // A key OpenAI rejects is refused on the page, in plain words, and not echoed back.
  const rejectedKey = newProviderKey().replace(/^sk-proj-/, "sk-invalid-");
  await popup.getByRole("link", { name: "Create an account" }).click();
  await popup.getByLabel("OpenAI API key").fill(rejectedKey);
  await popup.getByRole("button", { name: "Check the key and continue" }).click();
  await popup.getByRole("alert").filter({ hasText: "OpenAI did not accept this key" }).waitFor();
  assert.equal(await popup.getByLabel("OpenAI API key").inputValue(), "", "the rejected key is not put back in the form");
  await screenshot(popup, "new-person-2-signup-rejected-key");

  await signUp(popup, key, { screenshots: "new-person-2" });
  assert.equal(device.credentials.size, 1, "sign-up created one passkey on the person's device");

  // The consent screen names the app by its origin, unverified (nobody registered it).
  await assert.doesNotReject(popup.getByRole("heading", { name: "127.0.0.1 wants to use your OpenAI key" }).waitFor());
  assert.match(await popup.locator(".app .host").textContent(), new RegExp(appA.origin.replace(/[.]/g, "\\.")));
  assert.equal(await popup.locator(".badge.unverified").textContent(), "Unverified");
  await screenshot(popup, "new-person-3-consent");
  await popup.setViewportSize({ width: 375, height: 740 });
  await screenshot(popup, "new-person-3-consent-phone");
  const phoneOverflow = await popup.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(phoneOverflow <= 0, `the consent page is ${phoneOverflow}px wider than a 375px phone`);
  await popup.setViewportSize({ width: 480, height: 720 });

  const popupClosed = popup.waitForEvent("close");
  await approve(popup);
  await popupClosed; // the web_message page handed the code to the app and closed itself

  // The reply arrives chunk by chunk: the first words are on the page while Keyward's proxy
  // still waits for the upstream's last event.
  await app.locator("#output .chunk").first().waitFor();
  const early = await reply(app);
  assert.equal(early.done, false);
  assert.ok(early.chunks < CHUNKS, `the first chunk showed alone, not with the rest (saw ${early.chunks} of ${CHUNKS})`);
  assert.match(early.text, /^Hello/);
  await app.locator("#output .chunk").nth(CHUNKS - 1).waitFor();
  const held = await reply(app);
  assert.equal(held.done, false, "the stream must not end while the upstream holds its last event");
  await waitForAppState(app, "streaming");
  await screenshot(app, "new-person-4-app-streaming");

  await mock.release();
  await app.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(app, "signed-in");
  const full = await reply(app);
  assert.equal(full.chunks, CHUNKS);
  assert.match(full.text, /^Hello from the mock upstream\. This reply is streamed one word at a time\./);

  // Keyward checked the key at sign-up and used it, not the app's token, upstream.
  const upstream = await mock.requests();
  const authOf = (r) => Object.fromEntries(r.headers).authorization;
  const keyChecks = upstream.filter((r) => r.method === "GET" && r.path === "/v1/models").map(authOf);
  assert.deepEqual(keyChecks, [`Bearer ${rejectedKey}`, `Bearer ${key}`], "sign-up checked each key with GET /v1/models");
  const chat = upstream.find((r) => r.method === "POST" && r.path === "/v1/chat/completions");
  assert.equal(authOf(chat), `Bearer ${key}`, "the chat went upstream with the person's key");
  assert.equal(JSON.parse(chat.body).stream, true);

  const token = await cachedAccessToken(app);
  assert.match(token, /^kw_at_/);
  flow = { watched, key, rejectedKey, token };
  await context.close();
});

test("Keyward's pages and log in that flow showed no CSP violation or script error, and no secret", async () => {
  assert.ok(flow, "needs the sign-up flow of the previous test");
  assertNoBrowserProblems(flow.watched.problems);
  const responses = await flow.watched.keywardResponses();
  const pages = responses.filter((r) => !r.url.includes("/oauth/") && !r.url.includes("/v1/"));
  assert.ok(pages.some((r) => r.url.includes("/signup")), "the sign-up pages were recorded");
  assert.ok(pages.some((r) => r.url.includes("/consent")), "the consent page was recorded");
  assertNoSecretsInKeywardPages(responses, { providerKey: flow.key, tokens: [flow.token] });
  assertNoSecretsInKeywardPages(responses, { providerKey: flow.rejectedKey });

  const log = readFileSync(stack.keyward.logPath, "utf8");
  assert.match(log, /account created[\s\S]*tokens issued/, "the log has the flow in it");
  for (const secret of [flow.key, flow.key.slice(-8), flow.rejectedKey, flow.token]) {
    assert.ok(!log.includes(secret), `Keyward's log contains a secret (${secret.slice(0, 8)}…)`);
  }
});

test("the watchers behind that check do see a CSP violation on a Keyward page", async () => {
  // Without this, an empty problem list could also mean the listeners never fired.
  const watched = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  const page = await watched.context.newPage();
  await page.goto(`${stack.keyward.origin}/signup`);
  // Keyward's CSP allows scripts from 'self' only: an inline one must be refused and reported.
  await page.evaluate(() => {
    const script = document.createElement("script");
    script.textContent = "window.inlineRan = true";
    document.body.append(script);
  });
  await page.waitForTimeout(200);
  assert.equal(await page.evaluate(() => window.inlineRan), undefined, "the inline script must not run");
  assert.ok(
    watched.problems.some((p) => p.startsWith("CSP:") && p.includes("script-src")),
    `expected a reported script-src violation, got: ${JSON.stringify(watched.problems)}`,
  );
  await watched.context.close();
});
