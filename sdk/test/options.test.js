import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { register } from "node:module";
import { KeywardError, getCachedOpenAIAPI, handleRedirectCallback, requestOpenAIAPI, signOut } from "../keyward.js";
import { ISSUER, authorizationResponse, authorizeParams, installBrowser } from "./fake-browser.js";

register("./http-loader.js", import.meta.url);

/** @type {ReturnType<typeof installBrowser>} */
let env;
beforeEach(() => {
  env = installBrowser();
});
afterEach(async () => {
  await env.settle();
});

/** @param {string} code */
const keywardError = (code) => (/** @type {unknown} */ err) => err instanceof KeywardError && err.code === code;

describe("issuer", () => {
  test("imported from npm (not /sdk.js) without `issuer`: invalid_request telling to pass it", async () => {
    await assert.rejects(requestOpenAIAPI(), (err) => {
      assert.ok(err instanceof KeywardError);
      assert.equal(err.code, "invalid_request");
      assert.match(err.message, /issuer/);
      return true;
    });
    assert.equal(env.popups.length, 0);
    assert.throws(() => getCachedOpenAIAPI(), keywardError("invalid_request"));
    await assert.rejects(signOut(), keywardError("invalid_request"));
  });

  test("imported from a Keyward server's /sdk.js: the issuer is that origin", async () => {
    const sdk = await import("http://localhost:8080/sdk.js?v=1");
    const promise = sdk.requestOpenAIAPI();
    const popup = env.popups[0];
    const { url, state } = await authorizeParams(popup);
    assert.equal(url.origin + url.pathname, `${ISSUER}/oauth/authorize`);
    env.post(authorizationResponse(popup, { code: "c", state, iss: ISSUER }));
    const result = await promise;
    assert.equal(result.apiKey, "kw_at_test_token");
    assert.equal(env.fetchCalls[0].url, `${ISSUER}/oauth/token`);
    assert.deepEqual(sdk.getCachedOpenAIAPI(), result);
  });

  test("imported from another http URL: no default issuer", async () => {
    const sdk = await import("https://cdn.example/keyward.js");
    await assert.rejects(sdk.requestOpenAIAPI(), (err) => err instanceof sdk.KeywardError && err.code === "invalid_request");
    assert.equal(env.popups.length, 0);
  });

  test("issuer must be an http(s) base URL", async () => {
    for (const issuer of ["localhost:8080", "ftp://keyward.example", `${ISSUER}/?x=1`, `${ISSUER}/#x`, ""]) {
      await assert.rejects(requestOpenAIAPI({ issuer }), keywardError("invalid_request"), issuer);
    }
    assert.equal(env.popups.length, 0);
  });
});

describe("option checks", () => {
  test("bad mode, storage, timeoutMs or redirectUri: invalid_request before any popup", async () => {
    const bad = [
      { mode: "iframe" },
      { storage: "cookie" },
      { timeoutMs: 0 },
      { timeoutMs: -5 },
      { redirectUri: "/relative" },
      { scope: 42 },
      { signal: "nope" },
    ];
    for (const options of bad) {
      await assert.rejects(
        requestOpenAIAPI(/** @type {any} */ ({ issuer: ISSUER, ...options })),
        keywardError("invalid_request"),
        JSON.stringify(options),
      );
    }
    assert.equal(env.popups.length, 0);
  });

  test("a page without an origin needs clientId", async () => {
    env.location.href = "file:///home/me/page.html";
    await assert.rejects(requestOpenAIAPI({ issuer: ISSUER }), (err) => {
      assert.ok(err instanceof KeywardError);
      assert.equal(err.code, "invalid_request");
      assert.match(err.message, /clientId/);
      return true;
    });
  });

  test("without Web Crypto (insecure context): invalid_request, no popup", async () => {
    Object.defineProperty(globalThis, "crypto", { configurable: true, writable: true, value: undefined });
    await assert.rejects(requestOpenAIAPI({ issuer: ISSUER }), (err) => {
      assert.ok(err instanceof KeywardError);
      assert.match(err.message, /secure context/);
      return true;
    });
    assert.equal(env.popups.length, 0);
  });

  test("scope whitespace is normalised", async () => {
    const promise = requestOpenAIAPI({ issuer: ISSUER, scope: "  openai.chat \n openai.models " });
    const { params } = await authorizeParams(env.popups[0]);
    assert.equal(params.get("scope"), "openai.chat openai.models");
    env.popups[0].close();
    await assert.rejects(promise);
  });

  test("errors are KeywardError instances with a name, a code and a readable message", async () => {
    const err = new KeywardError("invalid_scope", "Ask for fewer scopes.", { description: "d" });
    assert.ok(err instanceof Error);
    assert.equal(err.name, "KeywardError");
    assert.equal(err.code, "invalid_scope");
    assert.equal(err.description, "d");
    assert.equal(err.message, "Ask for fewer scopes.");
  });

  test("handleRedirectCallback rejects (not throws) outside a page when given no URL", async () => {
    env.uninstall();
    const promise = handleRedirectCallback();
    assert.ok(promise instanceof Promise);
    await assert.rejects(promise, keywardError("invalid_request"));
    env = installBrowser();
  });
});
