// The person's dashboard (/account) in a real browser, one story from sign-up to deleting the
// account: the app a person signed up through, with its usage and spend; limits changed on the
// page and enforced on the app's next call; the OpenAI key replaced behind a passkey; a second
// passkey added, renamed and removed; the app revoked; the activity log; the account deleted.
// The app runs in one browser profile, the dashboard in another (the person signs in there with
// the synced passkey). The tests run in order, each from where the previous one left off.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, test } from "node:test";

import { cachedAccessToken, chatAgain, waitForAppState } from "../lib/app-page.js";
import { Device } from "../lib/authenticator.js";
import { newWatchedContext } from "../lib/browser.js";
import { assertNoBrowserProblems, assertNoSecretsInKeywardPages } from "../lib/checks.js";
import { addPasskey, appCard, confirmation, openDashboard, passkeyItem, submitWithPasskey } from "../lib/dashboard.js";
import { clickSignIn, openApp, signUpThroughApp } from "../lib/flows.js";
import { approve, newProviderKey, screenshot } from "../lib/person.js";
import { startStack } from "../lib/stack.js";

/** @type {Awaited<ReturnType<typeof startStack>>} */
let stack;
/** The person's laptop: the passkey made at sign-up, synced into both browser profiles. */
const laptop = new Device();
/** Their phone, where the second passkey is made. */
const phone = new Device();
const key = newProviderKey();
const newKey = newProviderKey();
const rejectedKey = newProviderKey().replace(/^sk-proj-/, "sk-invalid-");
/** Access tokens the apps held, for the secret check at the end. */
const tokens = /** @type {string[]} */ ([]);

/** The browser profile where the apps run, and app A's tab. */
let appSide;
/** @type {import("playwright-core").Page} */
let app;
/** The browser profile where the person opens the dashboard, and its tab. */
let dashSide;
/** @type {import("playwright-core").Page} */
let dash;

before(async () => {
  stack = await startStack("dashboard");
  appSide = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  laptop.watch(appSide.context);
  dashSide = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin });
  laptop.watch(dashSide.context);
});
after(async () => {
  await stack?.stop();
});

/** Every browser complaint so far, from both profiles: each test ends with none. */
const problems = () => [...appSide.problems, ...dashSide.problems];

/** The Authorization header an upstream request carried. */
const authOf = (r) => Object.fromEntries(r.headers).authorization;

test("the dashboard shows the app the person signed up through: origin, Unverified, requests and tokens this month, spend against the budget", async () => {
  const { keyward, appA, mock } = stack;
  // The mock reports a long answer for each chat, so the spend shows on the budget's bar:
  // 1.5M output tokens of gpt-4o-mini ($0.60 per 1M) cost $0.90.
  await mock.setBehaviour({ completion_tokens: 1_500_000 });
  app = await signUpThroughApp(appSide.context, laptop, appA.origin, key);
  for (let i = 0; i < 2; i++) assert.equal(await chatAgain(app), null, "the app's chat works");
  await mock.setBehaviour({}); // short answers from here on
  tokens.push(await cachedAccessToken(app));

  // Another browser profile: /account asks for the passkey and comes back.
  dash = await openDashboard(dashSide.context, laptop, keyward.origin);
  assert.equal(new URL(dash.url()).pathname, "/account");
  const card = appCard(dash, appA.origin);
  await card.waitFor();
  assert.equal(await dash.locator("article.grant").count(), 1, "one app allowed");
  assert.equal(await card.getByRole("heading", { level: 3 }).textContent(), "127.0.0.1");
  assert.equal(await card.locator(".badge").textContent(), "Unverified");
  const stats = Object.fromEntries(
    await card.locator("dl.stats > div").evaluateAll((rows) =>
      rows.map((row) => [row.querySelector("dt")?.textContent, row.querySelector("dd")?.textContent?.trim()]),
    ),
  );
  assert.equal(stats.Requests, "3");
  assert.equal(stats["Output tokens"], "4,500,000");
  assert.match(stats["Input tokens"], /^[1-9][\d,]*$/);
  // $2.70 of output plus a few input tokens, against the default budget of $10.
  assert.match((await card.locator(".spend").textContent()) ?? "", /\$2\.70 of \$10\.00 this month\s*\(27%\)/);
  const meter = card.getByRole("meter", { name: "Spent of the monthly budget" });
  const [value, max] = await meter.evaluate((m) => [m.value, m.max]);
  assert.equal(max, 10_000_000, "the bar runs to the budget (micro-USD)");
  assert.ok(value >= 2_700_000 && value < 2_710_000, `the bar shows the spend, got ${value}`);
  assert.match((await card.locator("p.limits").textContent()) ?? "", /^budget \$10\.00 a month · .* · any model · until /);
  assert.match((await card.textContent()) ?? "", /last used \d/);
  await screenshot(dash, "dashboard-1-app-card");
  assertNoBrowserProblems(problems());
});

test("limits changed on the page (a lower budget, one model) hold: the app's call for another model fails with PermissionDeniedError", async () => {
  const card = appCard(dash, stack.appA.origin);
  await card.getByText("Change limits").click();
  await card.getByLabel("Monthly budget (USD)").fill("5");
  assert.equal(await card.getByLabel("Any model").isChecked(), true, "the app was allowed any model");
  await card.getByLabel("gpt-4.1-mini", { exact: true }).check();
  assert.equal(await card.getByLabel("Any model").isChecked(), false, "ticking a model unticks \"Any model\"");
  assert.equal(await card.getByLabel("Keep the current end", { exact: false }).isChecked(), true, "the app's end stays unless changed");
  await screenshot(card, "dashboard-2-limits-form");
  await card.getByRole("button", { name: "Save limits" }).click();
  await dash.waitForURL(/\/account\?done=limits_saved#apps$/);
  assert.equal(await confirmation(dash, "apps"), "The new limits apply from the app's next request.");
  assert.match((await card.locator("p.limits").textContent()) ?? "", /^budget \$5\.00 a month · .* · gpt-4\.1-mini · until /);
  assert.match((await card.locator(".spend").textContent()) ?? "", /\$2\.70 of \$5\.00 this month\s*\(54%\)/);

  // The app's next call asks for gpt-4o: refused, as the openai SDK's own 403 class.
  await app.getByLabel("Model").fill("gpt-4o");
  const refused = await chatAgain(app);
  assert.equal(refused?.name, "PermissionDeniedError", refused?.text);
  assert.equal(refused?.status, "403");
  assert.match(refused?.text ?? "", /gpt-4o/);
  await screenshot(app, "dashboard-2-app-model-refused");
  // The model the person allowed still works.
  await app.getByLabel("Model").fill("gpt-4.1-mini");
  assert.equal(await chatAgain(app), null, "the allowed model works");
  assertNoBrowserProblems(problems());
});

test("replacing the OpenAI key: a rejected key is refused in plain words and not echoed; a good one, after the passkey, serves the app with no new consent", async () => {
  const { mock } = stack;
  const upstreamBefore = (await mock.requests()).length;
  await dash.getByText("Replace the key").click();
  await dash.getByLabel("New OpenAI API key").fill(rejectedKey);
  // The passkey is asked for first; then OpenAI's answer about the key.
  await submitWithPasskey(dash, "Replace with your passkey", /\/account\/key#key$/);
  const problem = dash.locator("#key .notice.bad[role=alert]").filter({ hasText: "OpenAI did not accept this key" });
  await problem.waitFor();
  assert.match((await problem.textContent()) ?? "", /Your stored key is unchanged\./);
  // The answer opens at the key section: the person sees it without scrolling.
  const inView = await problem.evaluate((el) => {
    const box = el.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  });
  assert.ok(inView, "the refusal is in view when the page comes back");
  assert.equal(await dash.getByLabel("New OpenAI API key").inputValue(), "", "the rejected key is not put back in the form");
  const html = await dash.content();
  assert.ok(!html.includes(rejectedKey) && !html.includes(rejectedKey.slice(-8)), "the page does not echo the rejected key");
  await screenshot(dash.locator("#key"), "dashboard-3-key-rejected");

  // The form is still open on that page: the good key.
  await dash.getByLabel("New OpenAI API key").fill(newKey);
  await submitWithPasskey(dash, "Replace with your passkey", /\/account\?done=key_replaced#key$/);
  assert.match(await confirmation(dash, "key"), /^Your new OpenAI key is in the vault\. Every app you allowed now uses it/);

  // The app's next call works as it was: no popup, no consent, the new key upstream.
  let popups = 0;
  const countPopup = () => popups++;
  appSide.context.on("page", countPopup);
  assert.equal(await chatAgain(app), null, "the app's chat works on the new key");
  appSide.context.off("page", countPopup);
  assert.equal(popups, 0, "the app needed no new sign-in or consent");
  const upstream = (await mock.requests()).slice(upstreamBefore);
  assert.deepEqual(
    upstream.map((r) => `${r.method} ${r.path} ${authOf(r)}`),
    [`GET /v1/models Bearer ${rejectedKey}`, `GET /v1/models Bearer ${newKey}`, `POST /v1/chat/completions Bearer ${newKey}`],
    "each key was checked upstream, and the chat went with the new one",
  );
  assertNoBrowserProblems(problems());
});

test("passkeys: one added from another device, renamed and removed; the last one cannot be removed", async () => {
  const first = "Passkey added at sign-up";
  await passkeyItem(dash, first).waitFor();
  await addPasskey(dash, { current: laptop, other: phone, name: "Phone" });
  assert.equal(await confirmation(dash, "passkeys"), "Your new passkey is ready. You can sign in with it now.");
  assert.equal(phone.credentials.size, 1, "the phone made the new passkey");
  assert.equal(laptop.credentials.size, 1, "the laptop still has its one");
  assert.deepEqual(await dash.locator("ul.passkeys > li > strong").allTextContents(), [first, "Phone"]);

  const added = passkeyItem(dash, "Phone");
  await added.getByText("Rename or remove").click();
  await added.getByLabel("Name").fill("My phone");
  await added.getByRole("button", { name: "Rename" }).click();
  await dash.waitForURL(/done=passkey_renamed/);
  assert.equal(await confirmation(dash, "passkeys"), "The passkey was renamed.");
  assert.deepEqual(await dash.locator("ul.passkeys > li > strong").allTextContents(), [first, "My phone"]);

  // A second tab still shows both passkeys with their remove buttons.
  const staleTab = await dashSide.context.newPage();
  await laptop.ready(staleTab);
  await staleTab.goto(dash.url());

  const renamed = passkeyItem(dash, "My phone");
  await renamed.getByText("Rename or remove").click();
  await screenshot(dash.locator("#passkeys"), "dashboard-4-passkeys");
  // Removing asks for a passkey first (the laptop's answers), then the form is sent.
  await renamed.getByRole("button", { name: "Remove this passkey" }).click();
  await dash.waitForURL(/done=passkey_removed/);
  assert.equal(await confirmation(dash, "passkeys"), "The passkey was removed. It no longer opens your account.");
  const last = passkeyItem(dash, first);
  assert.deepEqual(await dash.locator("ul.passkeys > li > strong").allTextContents(), [first]);
  await last.locator("summary").click();
  assert.equal(await last.locator("summary").textContent(), "Rename");
  assert.equal(await last.getByRole("button", { name: "Remove this passkey" }).count(), 0, "no remove button for the only passkey");
  assert.equal(
    ((await last.locator(".hint").textContent()) ?? "").trim(),
    "This is your only passkey, so it cannot be removed. Add another first.",
  );

  // From the stale tab, removing the other one — now the last — is refused, in plain words.
  const stale = passkeyItem(staleTab, first);
  await stale.getByText("Rename or remove").click();
  await stale.getByRole("button", { name: "Remove this passkey" }).click();
  await staleTab.waitForURL(/\/account\/passkeys\/[^/]+\/remove$/);
  const title = ((await staleTab.locator("h1").textContent()) ?? "").trim();
  assert.equal(title, "You cannot remove your only passkey", `Keyward answered at ${staleTab.url()}`);
  assert.match(
    (await staleTab.getByRole("alert").textContent()) ?? "",
    /Your passkey is the only way into your account.*Add another passkey first, then remove this one\./s,
  );
  await screenshot(staleTab, "dashboard-4-last-passkey-refused");
  await staleTab.getByRole("link", { name: "Back to your account" }).click();
  await staleTab.waitForURL(/\/account#passkeys$/);
  assert.deepEqual(await staleTab.locator("ul.passkeys > li > strong").allTextContents(), [first]);
  await staleTab.close();
  assertNoBrowserProblems(problems());
});

test("at phone width the dashboard fits the screen", async () => {
  await dash.goto(`${stack.keyward.origin}/account`);
  await dash.setViewportSize({ width: 390, height: 844 });
  const overflow = await dash.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `the dashboard is ${overflow}px wider than a 390px phone`);
  // Every field a person can type in has room for what they type.
  const narrow = await dash.locator("input[type=text], input[type=password], input[type=number]").evaluateAll((inputs) =>
    inputs
      .filter((input) => input.offsetParent !== null)
      .map((input) => ({ id: input.id, width: input.getBoundingClientRect().width }))
      .filter(({ width }) => width < 200),
  );
  assert.deepEqual(narrow, [], "text fields narrower than 200px at phone width");
  await screenshot(dash, "dashboard-5-phone");
  await dash.setViewportSize({ width: 1000, height: 800 });
  assertNoBrowserProblems(problems());
});

test("revoking the app on the dashboard: its next call fails with a 401 AuthenticationError the app shows", async () => {
  const card = appCard(dash, stack.appA.origin);
  await card.getByRole("button", { name: "Revoke access" }).click();
  await dash.waitForURL(/\/account\?done=revoked#apps$/);
  assert.equal(await confirmation(dash, "apps"), "The app was revoked. Its requests with your key stop now.");
  assert.equal(await dash.locator("article.grant").count(), 0, "no app holds access any more");
  await dash.getByText("Revoked and expired apps (1)").click();
  assert.match((await dash.locator("details.ended li").textContent()) ?? "", /127\.0\.0\.1.*Revoked/s);

  const error = await chatAgain(app);
  assert.equal(error?.name, "AuthenticationError", error?.text);
  assert.equal(error?.status, "401");
  assert.match(error?.text ?? "", /^AuthenticationError: 401 .*revoked/);
  await screenshot(app, "dashboard-6-app-revoked");
  assertNoBrowserProblems(problems());
});

test("the activity log lists sign-up, sign-in, consent, the limits change, the key replacement, the passkeys and the revocation", async () => {
  const events = await dash.locator("ol.activity > li").evaluateAll((items) =>
    items.map((li) => ({
      what: li.querySelector(".what")?.textContent?.trim(),
      app: li.querySelector("strong")?.textContent ?? null,
      detail: li.querySelector(".detail")?.textContent?.trim(),
      when: li.querySelector(".when")?.textContent?.trim(),
    })),
  );
  // Newest first.
  assert.deepEqual(
    events.map((e) => (e.app ? `${e.what} · ${e.app}` : e.what)),
    [
      "Revoked an app · 127.0.0.1",
      "Removed a passkey",
      "Renamed a passkey",
      "Added a passkey",
      "Replaced the OpenAI key",
      "Changed an app's limits · 127.0.0.1",
      "Signed in",
      "Allowed an app · 127.0.0.1",
      "Created the account",
    ],
  );
  const detail = (what) => events.find((e) => e.what === what)?.detail;
  assert.equal(detail("Changed an app's limits"), "budget $10.00 a month → budget $5.00 a month; any model → gpt-4.1-mini");
  assert.equal(detail("Renamed a passkey"), "renamed passkey “Phone” to “My phone”");
  for (const e of events) assert.match(e.when ?? "", /\d{4}, \d\d:\d\d UTC$/, "every event has its time");
  await screenshot(dash.locator("#activity"), "dashboard-7-activity");
  assertNoBrowserProblems(problems());
});

test("deleting the account with the passkey: goodbye page, an app's token gets 401, the passkey signs in no more", async () => {
  const { keyward, appB } = stack;
  // A second app, allowed now, holds a working token up to the deletion.
  const appTwo = await openApp(appSide.context, appB.origin);
  const popup = await clickSignIn(appTwo, laptop);
  await popup.waitForURL(`${keyward.origin}/consent?**`);
  const closed = popup.waitForEvent("close");
  await approve(popup);
  await closed;
  await appTwo.locator('#output[data-done="true"]').waitFor();
  await waitForAppState(appTwo, "signed-in");
  tokens.push(await cachedAccessToken(appTwo));

  await dash.goto(`${keyward.origin}/account#delete`);
  await dash.getByText("Delete my account…").click();
  await screenshot(dash.locator("#delete"), "dashboard-8-delete");
  await submitWithPasskey(dash, "Delete my account with your passkey", /\/account\/delete$/);
  await dash.getByRole("heading", { name: "Your account is deleted" }).waitFor();
  assert.match((await dash.locator("main").textContent()) ?? "", /Every app that used your key has lost access\./);
  await screenshot(dash, "dashboard-8-goodbye");

  const error = await chatAgain(appTwo);
  assert.equal(error?.name, "AuthenticationError", error?.text);
  assert.equal(error?.status, "401");

  // The passkey is still on the person's device, but opens nothing: the sign-in page says so
  // and offers to create an account.
  await dash.goto(`${keyward.origin}/account`);
  await dash.waitForURL(`${keyward.origin}/signin`);
  await dash.getByRole("button", { name: "Sign in with a passkey" }).click();
  const refused = dash.locator("#kw-error");
  await refused.filter({ hasText: "No Keyward account on this server uses that passkey" }).waitFor();
  assert.equal(await dash.getByRole("link", { name: "Create an account" }).isVisible(), true);
  assert.equal(new URL(dash.url()).pathname, "/signin");
  await screenshot(dash, "dashboard-8-signin-refused");
  assertNoBrowserProblems(problems());
});

test("in all of this: no CSP violation or script error, and no key or token in any Keyward page or log line", async () => {
  assert.equal(tokens.length, 2, "needs the tokens of the previous tests");
  assertNoBrowserProblems(problems());
  const responses = [...(await appSide.keywardResponses()), ...(await dashSide.keywardResponses())];
  const paths = new Set(responses.map((r) => new URL(r.url).pathname));
  for (const path of ["/account", "/account/key", "/account/delete", "/signin", "/consent"]) {
    assert.ok(paths.has(path), `${path} was recorded (saw ${[...paths].join(", ")})`);
  }
  for (const providerKey of [key, newKey, rejectedKey]) assertNoSecretsInKeywardPages(responses, { providerKey, tokens });
  const log = readFileSync(stack.keyward.logPath, "utf8");
  for (const secret of [key, newKey, rejectedKey, ...[key, newKey, rejectedKey].map((k) => k.slice(-8)), ...tokens]) {
    assert.ok(!log.includes(secret), `Keyward's log contains a secret (${secret.slice(0, 8)}…)`);
  }
});
