import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { getCachedOpenAIAPI, requestOpenAIAPI, signOut } from "../keyward.js";
import {
  APP_ORIGIN,
  BASE_URL,
  ISSUER,
  authorizationResponse,
  authorizeParams,
  defaultFetchHandler,
  installBrowser,
  json,
} from "./fake-browser.js";

/** @type {ReturnType<typeof installBrowser>} */
let env;
beforeEach(() => {
  env = installBrowser();
});
afterEach(async () => {
  await env.settle();
});

const ACCESS = { apiKey: "kw_at_test_token", baseURL: BASE_URL, dangerouslyAllowBrowser: true };

/** Runs a whole popup sign-in, answering as Keyward would. */
async function signIn(options = {}) {
  const before = env.popups.length;
  const promise = requestOpenAIAPI({ issuer: ISSUER, ...options });
  assert.equal(env.popups.length, before + 1, "a popup was opened");
  const popup = env.popups[before];
  const { state } = await authorizeParams(popup);
  env.post(authorizationResponse(popup, { code: "c", state, iss: ISSUER }));
  return promise;
}

/** The cache key used for issuer + clientId + scope. */
const keyFor = (scope = "openai.chat openai.models", clientId = APP_ORIGIN) =>
  `keyward:token:${JSON.stringify([ISSUER, clientId, scope])}`;

describe("caching", () => {
  test("a second call returns the cached result at once: no popup, no fetch", async () => {
    const first = await signIn();
    assert.equal(env.fetchCalls.length, 1);
    const second = await requestOpenAIAPI({ issuer: ISSUER });
    assert.deepEqual(second, first);
    assert.deepEqual(second, ACCESS);
    assert.equal(env.popups.length, 1, "no second popup");
    assert.equal(env.fetchCalls.length, 1, "no second exchange");
  });

  test("the cache entry is {apiKey, baseURL, expiresAt, scope}, keyed by issuer+clientId+scope, without the refresh token", async () => {
    const before = Date.now();
    await signIn();
    const entries = env.sessionStorage.entries("keyward:token:");
    assert.equal(entries.length, 1);
    const [key, value] = entries[0];
    assert.equal(key, keyFor());
    assert.deepEqual(Object.keys(value).sort(), ["apiKey", "baseURL", "expiresAt", "scope"]);
    assert.equal(value.apiKey, "kw_at_test_token");
    assert.equal(value.baseURL, BASE_URL);
    assert.equal(value.scope, "openai.chat openai.models");
    assert.ok(value.expiresAt >= before + 3600_000 && value.expiresAt <= Date.now() + 3600_000);
    for (const storage of [env.sessionStorage, env.localStorage]) {
      for (const [, raw] of storage.map) assert.doesNotMatch(raw, /kw_rt_/, "no refresh token in web storage");
    }
  });

  test("a token without expires_in is cached until revoked (expiresAt null) and reused", async () => {
    env.fetchHandler = () => json(200, { access_token: "kw_at_forever", token_type: "Bearer", scope: "openai.chat openai.models", base_url: BASE_URL });
    await signIn();
    assert.equal(JSON.parse(/** @type {string} */ (env.sessionStorage.getItem(keyFor()))).expiresAt, null);
    const again = await requestOpenAIAPI({ issuer: ISSUER });
    assert.equal(again.apiKey, "kw_at_forever");
    assert.equal(env.popups.length, 1);
  });

  test("an entry expiring within 60 s is ignored and removed; one valid longer is reused", async () => {
    env.sessionStorage.setItem(
      keyFor(),
      JSON.stringify({ apiKey: "kw_at_old", baseURL: BASE_URL, expiresAt: Date.now() + 59_000, scope: "s" }),
    );
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
    assert.equal(env.sessionStorage.getItem(keyFor()), null, "stale entry removed");

    env.sessionStorage.setItem(
      keyFor(),
      JSON.stringify({ apiKey: "kw_at_fresh", baseURL: BASE_URL, expiresAt: Date.now() + 61_000, scope: "s" }),
    );
    const result = await requestOpenAIAPI({ issuer: ISSUER });
    assert.equal(result.apiKey, "kw_at_fresh");
    assert.equal(env.popups.length, 0);
  });

  test("an expired entry makes requestOpenAIAPI sign in again", async () => {
    env.sessionStorage.setItem(
      keyFor(),
      JSON.stringify({ apiKey: "kw_at_old", baseURL: BASE_URL, expiresAt: Date.now() - 1, scope: "s" }),
    );
    const result = await signIn();
    assert.equal(result.apiKey, "kw_at_test_token");
  });

  test("a corrupt entry is ignored", async () => {
    env.sessionStorage.setItem(keyFor(), "{not json");
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
    env.sessionStorage.setItem(keyFor(), JSON.stringify({ apiKey: 42 }));
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
  });

  test("another scope or clientId is another cache entry", async () => {
    await signIn();
    await signIn({ scope: "openai.models" });
    await signIn({ clientId: "other-client" });
    assert.equal(env.popups.length, 3);
    assert.ok(env.sessionStorage.getItem(keyFor("openai.models")));
    assert.ok(env.sessionStorage.getItem(keyFor(undefined, "other-client")));
  });

  test('storage: "local" uses localStorage', async () => {
    await signIn({ storage: "local" });
    assert.equal(env.sessionStorage.length, 0);
    assert.ok(env.localStorage.getItem(keyFor()));
    assert.deepEqual(getCachedOpenAIAPI({ issuer: ISSUER, storage: "local" }), ACCESS);
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null, "session cache is separate");
    await requestOpenAIAPI({ issuer: ISSUER, storage: "local" });
    assert.equal(env.popups.length, 1);
  });

  test('storage: "none" remembers nothing', async () => {
    await signIn({ storage: "none" });
    assert.equal(env.sessionStorage.length, 0);
    assert.equal(env.localStorage.length, 0);
    await signIn({ storage: "none" });
    assert.equal(env.popups.length, 2);
  });

  test("getCachedOpenAIAPI returns the cached result, or null", async () => {
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
    await signIn();
    assert.deepEqual(getCachedOpenAIAPI({ issuer: ISSUER }), ACCESS);
  });

  test("storage that throws (blocked by the browser) does not break sign-in", async () => {
    Object.defineProperty(globalThis, "sessionStorage", {
      configurable: true,
      get() {
        throw new DOMException("denied", "SecurityError");
      },
    });
    const result = await signIn();
    assert.deepEqual(result, ACCESS);
  });
});

describe("signOut", () => {
  test("revokes the cached token at Keyward and clears the cache", async () => {
    await signIn();
    env.fetchCalls.length = 0;
    await signOut({ issuer: ISSUER });
    assert.equal(env.fetchCalls.length, 1);
    const { url, init, body } = env.fetchCalls[0];
    assert.equal(url, `${ISSUER}/oauth/revoke`);
    assert.equal(init.method, "POST");
    assert.equal(init.headers["Content-Type"], "application/x-www-form-urlencoded");
    assert.deepEqual(Object.fromEntries(body), {
      token: "kw_at_test_token",
      token_type_hint: "access_token",
      client_id: APP_ORIGIN,
    });
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);
    assert.equal(env.sessionStorage.length, 0);
  });

  test("clears the cache even when revocation fails", async () => {
    await signIn();
    env.fetchHandler = () => Promise.reject(new TypeError("Failed to fetch"));
    await signOut({ issuer: ISSUER });
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER }), null);

    env.fetchHandler = defaultFetchHandler;
    await signIn({ storage: "local" });
    env.fetchHandler = () => json(503, { error: "temporarily_unavailable" });
    await signOut({ issuer: ISSUER, storage: "local" });
    assert.equal(env.localStorage.length, 0);
  });

  test("only touches the matching entry", async () => {
    await signIn();
    await signIn({ scope: "openai.models" });
    await signOut({ issuer: ISSUER, scope: "openai.models" });
    assert.ok(getCachedOpenAIAPI({ issuer: ISSUER }));
    assert.equal(getCachedOpenAIAPI({ issuer: ISSUER, scope: "openai.models" }), null);
  });

  test("with nothing cached it revokes nothing; an explicit apiKey is revoked", async () => {
    await signOut({ issuer: ISSUER });
    assert.equal(env.fetchCalls.length, 0);
    await signOut({ issuer: ISSUER, apiKey: "kw_at_explicit", storage: "none" });
    assert.equal(env.fetchCalls.length, 1);
    assert.equal(env.fetchCalls[0].body.get("token"), "kw_at_explicit");
  });

  test("after signOut, requestOpenAIAPI opens the popup again", async () => {
    await signIn();
    await signOut({ issuer: ISSUER });
    await signIn();
    assert.equal(env.popups.length, 2);
  });
});
