import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AccessDeniedError,
  KeywardError,
  getCachedOpenAIAPI,
  handleRedirectCallback,
  requestOpenAIAPI,
} from "../keyward.js";
import { APP_ORIGIN, BASE_URL, ISSUER, installBrowser, isPending, json } from "./fake-browser.js";

/** @type {ReturnType<typeof installBrowser>} */
let env;
beforeEach(() => {
  env = installBrowser({ href: `${APP_ORIGIN}/chat/page?x=1#frag` });
});
afterEach(async () => {
  await env.settle();
});

/** Starts a redirect-mode sign-in; returns the promise and the authorize URL it navigated to. */
async function startRedirect(options = {}) {
  const promise = requestOpenAIAPI({ issuer: ISSUER, mode: "redirect", ...options });
  for (let i = 0; i < 100 && env.location.assigned.length === 0; i++) await new Promise((r) => setTimeout(r, 1));
  assert.equal(env.location.assigned.length, 1, "the tab navigates to Keyward");
  const url = new URL(env.location.assigned[0]);
  return { promise, url, params: url.searchParams, state: /** @type {string} */ (url.searchParams.get("state")) };
}

/** Keyward sending the browser back with a query response. */
function comeBack(/** @type {Record<string, string>} */ query) {
  const back = new URL(`${APP_ORIGIN}/chat/page?x=1#frag`);
  for (const [k, v] of Object.entries(query)) back.searchParams.set(k, v);
  env.location.href = back.href;
  return back.href;
}

describe("redirect mode", () => {
  test("navigates this tab to the authorize URL (query response) and never settles", async () => {
    const { promise, url, params, state } = await startRedirect();
    assert.equal(env.popups.length, 0, "no popup");
    assert.equal(url.origin + url.pathname, `${ISSUER}/oauth/authorize`);
    assert.equal(params.get("response_type"), "code");
    assert.equal(params.get("client_id"), APP_ORIGIN);
    assert.equal(params.get("redirect_uri"), `${APP_ORIGIN}/chat/page`, "current URL without query and hash");
    assert.equal(params.get("scope"), "openai.chat openai.models");
    assert.equal(params.get("code_challenge_method"), "S256");
    assert.equal(params.has("response_mode"), false);
    assert.match(state, /^[A-Za-z0-9_-]{43}$/);
    assert.ok(await isPending(promise, 30), "the promise never settles");

    const entries = env.sessionStorage.entries("keyward:pending:");
    assert.equal(entries.length, 1);
    const [key, saved] = entries[0];
    assert.ok(key.includes(state), "saved under a key derived from state");
    assert.equal(saved.state, state);
    assert.equal(saved.issuer, ISSUER);
    assert.equal(saved.clientId, APP_ORIGIN);
    assert.equal(saved.redirectUri, `${APP_ORIGIN}/chat/page`);
    assert.equal(saved.scope, "openai.chat openai.models");
    assert.equal(saved.storage, "session");
    assert.equal(params.get("code_challenge"), createHash("sha256").update(saved.verifier).digest("base64url"));
  });

  test("handleRedirectCallback exchanges the code, caches, forgets the request and cleans the address bar", async () => {
    const { state } = await startRedirect();
    const verifier = env.sessionStorage.entries("keyward:pending:")[0][1].verifier;
    comeBack({ code: "redirect-code", state, iss: ISSUER });

    const result = await handleRedirectCallback();
    assert.deepEqual(result, { apiKey: "kw_at_test_token", baseURL: BASE_URL, dangerouslyAllowBrowser: true });

    assert.equal(env.fetchCalls.length, 1);
    const { url, body } = env.fetchCalls[0];
    assert.equal(url, `${ISSUER}/oauth/token`);
    assert.deepEqual(Object.fromEntries(body), {
      grant_type: "authorization_code",
      code: "redirect-code",
      redirect_uri: `${APP_ORIGIN}/chat/page`,
      client_id: APP_ORIGIN,
      code_verifier: verifier,
    });
    assert.equal(env.sessionStorage.entries("keyward:pending:").length, 0, "saved request removed");
    assert.deepEqual(getCachedOpenAIAPI({ issuer: ISSUER }), result, "cached");
    assert.deepEqual(env.replacedUrls, ["/chat/page?x=1#frag"], "OAuth params stripped, others kept");
    assert.equal(env.location.href, `${APP_ORIGIN}/chat/page?x=1#frag`);
  });

  test("the saved storage/scope/clientId choices are used for the cache", async () => {
    const { state } = await startRedirect({ storage: "local", scope: "openai.models", clientId: "my-app" });
    const href = comeBack({ code: "c", state, iss: ISSUER });
    await handleRedirectCallback(href);
    assert.equal(env.fetchCalls[0].body.get("client_id"), "my-app");
    assert.ok(getCachedOpenAIAPI({ issuer: ISSUER, storage: "local", scope: "openai.models", clientId: "my-app" }));
  });

  test("returns null when the URL carries no authorization response", async () => {
    assert.equal(await handleRedirectCallback(), null);
    assert.equal(await handleRedirectCallback(`${APP_ORIGIN}/?state=abc&iss=x`), null);
    assert.equal(env.fetchCalls.length, 0);
    assert.deepEqual(env.replacedUrls, []);
  });

  test("an unknown state is rejected with invalid_state and nothing is exchanged", async () => {
    await startRedirect();
    comeBack({ code: "c", state: "forged-state", iss: ISSUER });
    await assert.rejects(handleRedirectCallback(), (err) => err instanceof KeywardError && err.code === "invalid_state");
    assert.equal(env.fetchCalls.length, 0);
    assert.deepEqual(env.replacedUrls, ["/chat/page?x=1#frag"], "address bar cleaned anyway");
  });

  test("a state can be used once", async () => {
    const { state } = await startRedirect();
    const href = comeBack({ code: "c", state, iss: ISSUER });
    await handleRedirectCallback(href);
    await assert.rejects(handleRedirectCallback(href), (err) => err instanceof KeywardError && err.code === "invalid_state");
    assert.equal(env.fetchCalls.length, 1);
  });

  test("calling it twice at once (StrictMode effects) exchanges the code once", async () => {
    const { state } = await startRedirect();
    comeBack({ code: "c", state, iss: ISSUER });
    const [a, b] = await Promise.all([handleRedirectCallback(), handleRedirectCallback()]);
    assert.deepEqual(a, b);
    assert.equal(env.fetchCalls.length, 1);
  });

  test("a wrong or missing iss is rejected", async () => {
    const first = await startRedirect();
    comeBack({ code: "c", state: first.state, iss: "https://evil.example" });
    await assert.rejects(handleRedirectCallback(), (err) => err instanceof KeywardError && err.code === "invalid_issuer");

    env.location.assigned.length = 0;
    const second = await startRedirect();
    comeBack({ code: "c", state: second.state });
    await assert.rejects(handleRedirectCallback(), (err) => err instanceof KeywardError && err.code === "invalid_issuer");
    assert.equal(env.fetchCalls.length, 0);
  });

  test("error=access_denied rejects with AccessDeniedError and cleans the address bar", async () => {
    const { state } = await startRedirect();
    comeBack({ error: "access_denied", error_description: "no thanks", state, iss: ISSUER });
    await assert.rejects(handleRedirectCallback(), (err) => err instanceof AccessDeniedError && err.description === "no thanks");
    assert.equal(env.location.href, `${APP_ORIGIN}/chat/page?x=1#frag`);
    assert.equal(env.sessionStorage.entries("keyward:pending:").length, 0);
  });

  test("a token endpoint error surfaces as KeywardError", async () => {
    const { state } = await startRedirect();
    comeBack({ code: "c", state, iss: ISSUER });
    env.fetchHandler = () => json(400, { error: "invalid_grant", error_description: "expired" });
    await assert.rejects(handleRedirectCallback(), (err) => err instanceof KeywardError && err.code === "invalid_grant");
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
  });

  test("a cached token is returned without navigating", async () => {
    const { state } = await startRedirect();
    await handleRedirectCallback(comeBack({ code: "c", state, iss: ISSUER }));
    env.location.assigned.length = 0;
    const result = await requestOpenAIAPI({ issuer: ISSUER, mode: "redirect" });
    assert.equal(result.apiKey, "kw_at_test_token");
    assert.equal(env.location.assigned.length, 0);
  });
});
