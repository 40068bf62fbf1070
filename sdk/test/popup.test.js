import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import {
  AccessDeniedError,
  KeywardError,
  PopupBlockedError,
  PopupClosedError,
  TimeoutError,
  requestOpenAIAPI,
} from "../keyward.js";
import {
  APP_ORIGIN,
  BASE_URL,
  ISSUER,
  authorizationResponse,
  authorizeParams,
  installBrowser,
  isPending,
  json,
  tick,
} from "./fake-browser.js";

/** @type {ReturnType<typeof installBrowser>} */
let env;
beforeEach(() => {
  env = installBrowser();
});
afterEach(async () => {
  await env.settle();
});

/** Starts a popup sign-in and returns the promise, the popup and the authorize request. */
async function start(options = {}) {
  const promise = requestOpenAIAPI({ issuer: ISSUER, ...options });
  promise.catch(() => {}); // observed by the test; avoid unhandled-rejection noise meanwhile
  assert.equal(env.popups.length, 1, "a popup was opened");
  const popup = env.popups[0];
  const { url, params, state } = await authorizeParams(popup);
  return { promise, popup, url, params, state };
}

const base64url = (/** @type {Buffer} */ b) => b.toString("base64url");

describe("PKCE and the authorization request", () => {
  test("code_challenge is base64url(SHA-256(verifier)): RFC 7636 Appendix B vector", async () => {
    // RFC 7636 Appendix B: these 32 octets give the verifier and challenge below.
    const rfcOctets = [
      116, 24, 223, 180, 151, 153, 224, 37, 79, 250, 96, 125, 216, 173, 187, 186, 22, 212, 37, 77, 105, 214, 191,
      240, 91, 88, 5, 88, 83, 132, 141, 121,
    ];
    env.scriptRandomBytes([rfcOctets, new Array(32).fill(7)]);
    const { promise, popup, params, state } = await start();
    assert.equal(params.get("code_challenge"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
    assert.equal(params.get("code_challenge_method"), "S256");
    assert.equal(state, base64url(Buffer.alloc(32, 7)));

    env.post(authorizationResponse(popup, { code: "c1", state, iss: ISSUER }));
    await promise;
    assert.equal(env.fetchCalls[0].body.get("code_verifier"), "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk");
  });

  test("random verifier and state: 32 bytes base64url, challenge matches the verifier sent", async () => {
    const { promise, popup, params, state } = await start();
    assert.match(state, /^[A-Za-z0-9_-]{43}$/);
    env.post(authorizationResponse(popup, { code: "c1", state, iss: ISSUER }));
    await promise;
    const verifier = /** @type {string} */ (env.fetchCalls[0].body.get("code_verifier"));
    assert.match(verifier, /^[A-Za-z0-9_-]{43}$/);
    assert.notEqual(verifier, state);
    assert.equal(params.get("code_challenge"), base64url(createHash("sha256").update(verifier).digest()));
  });

  test("authorize URL carries exactly the protocol's parameters, with page-derived defaults", async () => {
    const { promise, url, params } = await start();
    assert.equal(url.origin + url.pathname, `${ISSUER}/oauth/authorize`);
    assert.deepEqual(
      [...params.keys()].sort(),
      [
        "client_id",
        "code_challenge",
        "code_challenge_method",
        "redirect_uri",
        "response_mode",
        "response_type",
        "scope",
        "state",
      ],
    );
    assert.equal(params.get("response_type"), "code");
    assert.equal(params.get("client_id"), APP_ORIGIN);
    assert.equal(params.get("redirect_uri"), `${APP_ORIGIN}/`);
    assert.equal(params.get("scope"), "openai.chat openai.models");
    assert.equal(params.get("response_mode"), "web_message");
    env.popups[0].close();
    await assert.rejects(promise, PopupClosedError);
  });

  test("explicit clientId, redirectUri and scope pass through; issuer's trailing slash is dropped", async () => {
    const { promise, popup, url, params, state } = await start({
      issuer: `${ISSUER}/`,
      clientId: "registered-app",
      redirectUri: "https://app.example/callback",
      scope: "openai.chat",
    });
    assert.equal(url.origin + url.pathname, `${ISSUER}/oauth/authorize`);
    assert.equal(params.get("client_id"), "registered-app");
    assert.equal(params.get("redirect_uri"), "https://app.example/callback");
    assert.equal(params.get("scope"), "openai.chat");
    env.post(authorizationResponse(popup, { code: "c1", state, iss: ISSUER }));
    await promise;
    const { url: tokenUrl, body } = env.fetchCalls[0];
    assert.equal(tokenUrl, `${ISSUER}/oauth/token`);
    assert.equal(body.get("client_id"), "registered-app");
    assert.equal(body.get("redirect_uri"), "https://app.example/callback");
  });

  test("window.open runs synchronously, on about:blank, as a centred 480x720 popup", async () => {
    const promise = requestOpenAIAPI({ issuer: ISSUER });
    // No await yet: the popup must already be open (browsers require the click's activation).
    assert.equal(env.popups.length, 1);
    const { url, name, features } = env.popups[0].openedWith;
    assert.equal(url, "about:blank");
    assert.equal(name, "keyward_auth");
    assert.match(features, /width=480/);
    assert.match(features, /height=720/);
    // window at x=100 y=50, 1280x900 outside: centred means left=100+(1280-480)/2, top=50+(900-720)/2
    assert.match(features, /left=500/);
    assert.match(features, /top=140/);
    env.popups[0].close();
    await assert.rejects(promise, PopupClosedError);
  });

  test("popupFeatures overrides the window features", async () => {
    const { promise, popup } = await start({ popupFeatures: "popup=yes,width=600,height=600" });
    assert.equal(popup.openedWith.features, "popup=yes,width=600,height=600");
    popup.close();
    await assert.rejects(promise, PopupClosedError);
  });
});

describe("the authorization response", () => {
  test("state round trip: code exchanged at the token endpoint, result ready for new OpenAI()", async () => {
    const { promise, popup, state } = await start();
    env.post(authorizationResponse(popup, { code: "the-code", state, iss: ISSUER }));
    const result = await promise;
    assert.deepEqual(result, { apiKey: "kw_at_test_token", baseURL: BASE_URL, dangerouslyAllowBrowser: true });

    assert.equal(env.fetchCalls.length, 1);
    const { url, init, body } = env.fetchCalls[0];
    assert.equal(url, `${ISSUER}/oauth/token`);
    assert.equal(init.method, "POST");
    assert.equal(init.headers["Content-Type"], "application/x-www-form-urlencoded");
    assert.equal(typeof init.body, "string");
    assert.deepEqual(
      [...body.keys()].sort(),
      ["client_id", "code", "code_verifier", "grant_type", "redirect_uri"],
    );
    assert.equal(body.get("grant_type"), "authorization_code");
    assert.equal(body.get("code"), "the-code");
    assert.equal(body.get("client_id"), APP_ORIGIN);
    assert.equal(body.get("redirect_uri"), `${APP_ORIGIN}/`);

    assert.ok(popup.closed, "popup closed after the response");
    assert.equal(env.messageListeners.size, 0, "message listener removed");
  });

  test("messages from another origin, another window, or with a wrong state or type are ignored", async () => {
    const { promise, popup, state } = await start();
    const good = { code: "good-code", state, iss: ISSUER };
    const otherWindow = {};
    env.post(authorizationResponse(popup, { ...good, code: "evil-origin" }, "https://evil.example"));
    env.post(authorizationResponse(popup, { ...good, code: "evil-origin" }, `${ISSUER}.evil.example`));
    env.post(authorizationResponse(/** @type {any} */ (otherWindow), { ...good, code: "evil-source" }));
    env.post(authorizationResponse(popup, { ...good, code: "wrong-state", state: "x".repeat(43) }));
    env.post(authorizationResponse(popup, { error: "access_denied", state: "x".repeat(43), iss: ISSUER }));
    env.post(authorizationResponse(popup, { code: "no-state", iss: ISSUER }));
    env.post({ origin: ISSUER, source: popup, data: { type: "something_else", response: good } });
    env.post({ origin: ISSUER, source: popup, data: "authorization_response" });
    env.post({ origin: ISSUER, source: popup, data: null });
    env.post({ origin: ISSUER, source: popup, data: { type: "authorization_response" } });
    assert.ok(await isPending(promise), "still waiting after forged messages");
    assert.equal(env.fetchCalls.length, 0);
    assert.equal(popup.closed, false);

    env.post(authorizationResponse(popup, good));
    await promise;
    assert.equal(env.fetchCalls[0].body.get("code"), "good-code");
  });

  test("a wrong iss is rejected (RFC 9207)", async () => {
    const { promise, popup, state } = await start();
    env.post(authorizationResponse(popup, { code: "c", state, iss: "https://other-issuer.example" }));
    await assert.rejects(promise, (err) => err instanceof KeywardError && err.code === "invalid_issuer");
    assert.equal(env.fetchCalls.length, 0, "code not exchanged");
    assert.ok(popup.closed);
  });

  test("a missing iss is rejected", async () => {
    const { promise, popup, state } = await start();
    env.post(authorizationResponse(popup, { code: "c", state }));
    await assert.rejects(promise, (err) => err instanceof KeywardError && err.code === "invalid_issuer");
    assert.equal(env.fetchCalls.length, 0);
  });

  test("access_denied rejects with AccessDeniedError", async () => {
    const { promise, popup, state } = await start();
    env.post(
      authorizationResponse(popup, { error: "access_denied", error_description: "The person said no", state, iss: ISSUER }),
    );
    await assert.rejects(promise, (err) => {
      assert.ok(err instanceof AccessDeniedError);
      assert.ok(err instanceof KeywardError);
      assert.equal(err.code, "access_denied");
      assert.equal(err.description, "The person said no");
      assert.equal(err.name, "AccessDeniedError");
      return true;
    });
    assert.equal(env.fetchCalls.length, 0);
    assert.ok(popup.closed);
  });

  test("other OAuth errors reject with KeywardError carrying code and description", async () => {
    const { promise, popup, state } = await start();
    env.post(
      authorizationResponse(popup, { error: "invalid_scope", error_description: "unknown scope foo", state, iss: ISSUER }),
    );
    await assert.rejects(promise, (err) => {
      assert.ok(err instanceof KeywardError);
      assert.ok(!(err instanceof AccessDeniedError));
      assert.equal(err.code, "invalid_scope");
      assert.equal(err.description, "unknown scope foo");
      assert.match(err.message, /invalid_scope/);
      return true;
    });
  });
});

describe("popup lifecycle", () => {
  test("the person closing the popup rejects with PopupClosedError", async () => {
    const { promise, popup } = await start();
    popup.close();
    const started = Date.now();
    await assert.rejects(promise, (err) => err instanceof PopupClosedError && err.code === "popup_closed");
    assert.ok(Date.now() - started < 1500, "noticed within about one poll");
    assert.equal(env.messageListeners.size, 0);
  });

  test("a response posted just before the popup closes still wins", async () => {
    const { promise, popup, state } = await start();
    popup.close();
    await tick(520); // the poll has now seen `closed`; the message is still in flight
    env.post(authorizationResponse(popup, { code: "late", state, iss: ISSUER }));
    const result = await promise;
    assert.equal(result.apiKey, "kw_at_test_token");
  });

  test("a blocked popup rejects with PopupBlockedError that suggests redirect mode", async () => {
    env.popupBehaviour = "blocked";
    await assert.rejects(requestOpenAIAPI({ issuer: ISSUER }), (err) => {
      assert.ok(err instanceof PopupBlockedError);
      assert.ok(err instanceof KeywardError);
      assert.equal(err.code, "popup_blocked");
      assert.match(err.message, /mode: "redirect"/);
      return true;
    });
    assert.equal(env.messageListeners.size, 0);
  });

  test("window.open throwing (sandboxed frame) also means PopupBlockedError", async () => {
    env.popupBehaviour = "throw";
    await assert.rejects(requestOpenAIAPI({ issuer: ISSUER }), PopupBlockedError);
  });

  test("timeout rejects with TimeoutError and closes the popup", async () => {
    const { promise, popup } = await start({ timeoutMs: 60 });
    await assert.rejects(promise, (err) => err instanceof TimeoutError && err.code === "timeout");
    assert.ok(popup.closed);
    assert.equal(env.messageListeners.size, 0);
  });

  test("abort rejects with the signal's reason and closes the popup", async () => {
    const controller = new AbortController();
    const { promise, popup } = await start({ signal: controller.signal });
    const reason = new Error("user navigated away");
    controller.abort(reason);
    await assert.rejects(promise, (err) => err === reason);
    assert.ok(popup.closed);
    assert.equal(env.messageListeners.size, 0);
  });

  test("abort without a reason rejects with an AbortError DOMException", async () => {
    const controller = new AbortController();
    const { promise } = await start({ signal: controller.signal });
    controller.abort();
    await assert.rejects(promise, (err) => err instanceof DOMException && err.name === "AbortError");
  });

  test("an already aborted signal rejects without opening a popup", async () => {
    const controller = new AbortController();
    controller.abort();
    await assert.rejects(requestOpenAIAPI({ issuer: ISSUER, signal: controller.signal }), { name: "AbortError" });
    assert.equal(env.popups.length, 0);
  });

  test("abort during the code exchange rejects with the signal's reason", async () => {
    const controller = new AbortController();
    env.fetchHandler = (_url, init) =>
      new Promise((_resolve, reject) => {
        init.signal.addEventListener("abort", () => reject(init.signal.reason));
      });
    const { promise, popup, state } = await start({ signal: controller.signal });
    env.post(authorizationResponse(popup, { code: "c", state, iss: ISSUER }));
    await tick(5);
    const reason = new Error("stop");
    controller.abort(reason);
    await assert.rejects(promise, (err) => err === reason);
  });
});

describe("the token endpoint", () => {
  /** @param {(url: string, init: any) => any} handler */
  async function exchangeWith(handler) {
    env.fetchHandler = handler;
    const { promise, popup, state } = await start();
    env.post(authorizationResponse(popup, { code: "c", state, iss: ISSUER }));
    return promise;
  }

  test("an OAuth error response becomes a KeywardError with its code and description", async () => {
    await assert.rejects(
      exchangeWith(() => json(400, { error: "invalid_grant", error_description: "code already used" })),
      (err) => {
        assert.ok(err instanceof KeywardError);
        assert.equal(err.code, "invalid_grant");
        assert.equal(err.description, "code already used");
        return true;
      },
    );
    assert.equal(env.sessionStorage.length, 0, "nothing cached");
  });

  test("a network failure becomes network_error", async () => {
    await assert.rejects(
      exchangeWith(() => Promise.reject(new TypeError("Failed to fetch"))),
      (err) => err instanceof KeywardError && err.code === "network_error" && err.cause instanceof TypeError,
    );
  });

  test("a non-OAuth error page becomes server_error", async () => {
    await assert.rejects(
      exchangeWith(() => new Response("<h1>Bad gateway</h1>", { status: 502 })),
      (err) => err instanceof KeywardError && err.code === "server_error",
    );
  });

  test("a 200 without access_token becomes invalid_response", async () => {
    await assert.rejects(
      exchangeWith(() => json(200, { token_type: "Bearer", base_url: BASE_URL })),
      (err) => err instanceof KeywardError && err.code === "invalid_response",
    );
  });

  test("a missing base_url falls back to the issuer's /v1", async () => {
    const result = await exchangeWith(() => json(200, { access_token: "kw_at_x", token_type: "Bearer", scope: "s" }));
    assert.deepEqual(result, { apiKey: "kw_at_x", baseURL: `${ISSUER}/v1`, dangerouslyAllowBrowser: true });
  });
});
