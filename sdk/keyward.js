// @ts-check
/**
 * Keyward browser helper: sign a person in with their own OpenAI API key and get back
 * `{ apiKey, baseURL, dangerouslyAllowBrowser: true }`, ready for `new OpenAI(...)`.
 *
 * The app never sees the person's key. Keyward runs an OAuth 2.0 authorization-code flow with
 * PKCE (S256) in a popup (or a full-page redirect) and hands the app a scoped, revocable access
 * token for its OpenAI-compatible proxy.
 *
 * One dependency-free ES module. It is published to npm as `keyward` and served unchanged by
 * every Keyward server at `/sdk.js`; when loaded from there it knows its issuer by itself.
 *
 * @module keyward
 */

const AUTHORIZE_PATH = "/oauth/authorize";
const TOKEN_PATH = "/oauth/token";
const REVOKE_PATH = "/oauth/revoke";

const DEFAULT_SCOPE = "openai.chat openai.models";
const DEFAULT_TIMEOUT_MS = 5 * 60 * 1000;
/** How often the helper checks whether the person closed the popup. */
const POPUP_POLL_MS = 500;
/** After the popup is seen closed, wait this long for a message that may already be queued. */
const POPUP_CLOSED_GRACE_MS = 100;
/** A cached token is reused only while it is valid for at least this much longer. */
const EXPIRY_MARGIN_MS = 60 * 1000;
/** A redirect-mode request that has not come back within this time is swept from storage. */
const PENDING_MAX_AGE_MS = 60 * 60 * 1000;
/** setTimeout fires at once for delays above this; longer timeouts mean "no timeout". */
const MAX_TIMER_MS = 2147483647;

const CACHE_PREFIX = "keyward:token:";
const PENDING_PREFIX = "keyward:pending:";
const POPUP_NAME = "keyward_auth";
const POPUP_WIDTH = 480;
const POPUP_HEIGHT = 720;
const OAUTH_RESPONSE_PARAMS = ["code", "state", "iss", "error", "error_description", "error_uri"];

/** @typedef {"popup" | "redirect"} KeywardMode */
/** @typedef {"session" | "local" | "none"} KeywardStorage */

/**
 * Options shared by every function: which Keyward, which app, which scopes, which cache.
 * @typedef {object} KeywardOptions
 * @property {string} [issuer] Keyward's base URL, e.g. `"https://keyward.example"`. Defaults to
 *   the origin this module was loaded from when that URL ends in `/sdk.js`; otherwise required.
 * @property {string} [clientId] The app's OAuth client id. Defaults to the page's origin (an
 *   "origin client", which needs no registration).
 * @property {string} [scope] Space-separated scope names. Default `"openai.chat openai.models"`.
 * @property {KeywardStorage} [storage] Where the access token is cached: `"session"`
 *   (sessionStorage, the default), `"local"` (localStorage) or `"none"`.
 */

/**
 * Options for {@link requestOpenAIAPI}.
 * @typedef {object} RequestOpenAIAPIOptions
 * @property {string} [issuer] See {@link KeywardOptions}.
 * @property {string} [clientId] See {@link KeywardOptions}.
 * @property {string} [scope] See {@link KeywardOptions}.
 * @property {KeywardStorage} [storage] See {@link KeywardOptions}.
 * @property {string} [redirectUri] Registered redirect URI. Default: `location.origin + "/"` in
 *   popup mode; the current URL without query and fragment in redirect mode.
 * @property {KeywardMode} [mode] `"popup"` (default) or `"redirect"`.
 * @property {AbortSignal} [signal] Cancels the sign-in and closes the popup.
 * @property {number} [timeoutMs] Popup mode: give up after this long. Default 5 minutes;
 *   `Infinity` waits until the person finishes or closes the popup.
 * @property {string} [popupFeatures] `window.open` features. Default: a centred 480×720 popup.
 */

/**
 * Options for {@link signOut}.
 * @typedef {object} SignOutOptions
 * @property {string} [issuer] See {@link KeywardOptions}.
 * @property {string} [clientId] See {@link KeywardOptions}.
 * @property {string} [scope] See {@link KeywardOptions}.
 * @property {KeywardStorage} [storage] See {@link KeywardOptions}.
 * @property {string} [apiKey] The access token to revoke. Default: the cached one.
 */

/**
 * What {@link requestOpenAIAPI} resolves to: pass it as it is to `new OpenAI(...)`.
 * @typedef {object} OpenAIAPIAccess
 * @property {string} apiKey A Keyward access token (`kw_at_…`), used like an OpenAI API key.
 * @property {string} baseURL Keyward's OpenAI-compatible proxy, e.g. `"https://keyward.example/v1"`.
 * @property {true} dangerouslyAllowBrowser The token is scoped and revocable by the person, so
 *   it is meant to live in the browser.
 */

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/** Every error this module throws (besides an AbortSignal's own reason) is a KeywardError. */
export class KeywardError extends Error {
  /**
   * @param {string} code An OAuth error code from Keyward (`invalid_scope`, `invalid_client`, …) or
   *   one of this helper's own: `invalid_request`, `invalid_issuer`, `invalid_state`,
   *   `invalid_response`, `network_error`, `popup_blocked`, `popup_closed`, `timeout`.
   * @param {string} message What happened and what to do about it.
   * @param {{ description?: string, cause?: unknown }} [options]
   */
  constructor(code, message, options = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "KeywardError";
    /** Machine-readable error code. */
    this.code = code;
    /** Keyward's `error_description`, when it sent one. */
    this.description = options.description;
  }
}

/** The browser refused to open the sign-in popup. */
export class PopupBlockedError extends KeywardError {
  constructor() {
    super(
      "popup_blocked",
      "The browser blocked the Keyward sign-in popup. Call requestOpenAIAPI() directly in a click " +
        "handler, before any `await`, so the popup opens within the click; or use " +
        'requestOpenAIAPI({ mode: "redirect" }) and call handleRedirectCallback() when the page loads.',
    );
    this.name = "PopupBlockedError";
  }
}

/** The person declined to let the app use their key (OAuth `access_denied`). */
export class AccessDeniedError extends KeywardError {
  /** @param {string} [description] Keyward's `error_description`. */
  constructor(description) {
    super(
      "access_denied",
      "The person declined to let this app use their OpenAI API key. Let them try again when they choose to.",
      { description },
    );
    this.name = "AccessDeniedError";
  }
}

/** The person closed the sign-in popup before finishing. */
export class PopupClosedError extends KeywardError {
  constructor() {
    super(
      "popup_closed",
      "The Keyward sign-in popup was closed before sign-in finished. Let the person try again.",
    );
    this.name = "PopupClosedError";
  }
}

/** Sign-in did not finish within `timeoutMs`. */
export class TimeoutError extends KeywardError {
  /** @param {number} timeoutMs The timeout that ran out, in milliseconds. */
  constructor(timeoutMs) {
    super(
      "timeout",
      `Keyward sign-in did not finish within ${Math.round(timeoutMs / 1000)} s, so the popup was ` +
        "closed. Let the person try again, or pass a larger `timeoutMs`.",
    );
    this.name = "TimeoutError";
  }
}

/** @type {Record<string, string>} */
const OAUTH_ERROR_HINTS = {
  invalid_client:
    "Keyward does not accept this clientId. Use the page's origin (the default) or a client id " +
    "your Keyward operator registered.",
  unauthorized_client: "This client may not use the authorization-code flow on this Keyward.",
  invalid_scope: "Ask only for scopes Keyward knows, e.g. \"openai.chat openai.models\".",
  invalid_grant:
    "The authorization code was rejected (expired, already used, or issued for another " +
    "redirectUri). Sign in again.",
  invalid_request: "Keyward rejected the request; check redirectUri and the other options.",
  server_error: "Keyward failed; try again later.",
  temporarily_unavailable: "Keyward is busy; try again in a moment.",
};

/**
 * An OAuth error response turned into the matching error class.
 * @param {string} code
 * @param {string | undefined} description
 * @returns {KeywardError}
 */
function oauthError(code, description) {
  if (code === "access_denied") return new AccessDeniedError(description);
  const hint = OAUTH_ERROR_HINTS[code];
  const detail = description ? `: ${description}` : "";
  return new KeywardError(
    code,
    `Keyward refused the sign-in (${code})${detail}.${hint ? ` ${hint}` : ""}`,
    { description },
  );
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

/**
 * Ask the person for access to their OpenAI API key through Keyward.
 *
 * Resolves to `{ apiKey, baseURL, dangerouslyAllowBrowser: true }` for `new OpenAI(...)`. A token
 * cached by an earlier call (same issuer, clientId and scope) is returned at once, without a popup.
 *
 * Popup mode (default): call it directly in a click handler, before any `await`, because browsers
 * only open popups within a user gesture. Redirect mode navigates this tab to Keyward and the
 * returned promise never settles; call {@link handleRedirectCallback} when the page loads again.
 *
 * @param {RequestOpenAIAPIOptions} [options]
 * @returns {Promise<OpenAIAPIAccess>}
 */
export async function requestOpenAIAPI(options = {}) {
  // Everything up to window.open() must run synchronously: no `await` before it.
  const cfg = resolveRequestOptions(options);
  throwIfAborted(cfg.signal);
  const cached = readCache(cfg);
  if (cached) return toAccess(cached);
  if (cfg.mode === "redirect") return startRedirect(cfg);

  const popup = openPopup(cfg.popupFeatures);
  if (!popup) throw new PopupBlockedError();

  const { verifier, state } = newRequestSecrets(popup);
  const code = await waitForPopupResponse(cfg, popup, verifier, state);
  const entry = await exchangeCode(cfg, code, verifier, cfg.redirectUri, cfg.signal);
  writeCache(cfg, entry);
  return toAccess(entry);
}

/**
 * Finish a redirect-mode sign-in. Call it once when the page loads.
 *
 * Resolves to `null` when the URL carries no authorization response (no `code` or `error`);
 * otherwise exchanges the code, caches the token, removes the OAuth parameters from the address
 * bar and resolves to the same object as {@link requestOpenAIAPI}.
 *
 * @param {string | URL} [url] The URL Keyward redirected to. Default: `location.href`.
 * @returns {Promise<OpenAIAPIAccess | null>}
 */
export function handleRedirectCallback(url) {
  /** @type {string} */
  let href;
  try {
    href = url === undefined ? currentHref() : String(url);
  } catch (err) {
    return Promise.reject(err);
  }
  const state = safeUrl(href)?.searchParams.get("state") ?? "";
  const running = pendingCallbacks.get(state);
  if (running) return running; // e.g. React StrictMode running an effect twice
  const promise = completeRedirect(href);
  pendingCallbacks.set(state, promise);
  const forget = () => {
    pendingCallbacks.delete(state);
  };
  promise.then(forget, forget);
  return promise;
}

/**
 * The cached result of an earlier sign-in, or `null`. Synchronous; never opens a popup.
 * @param {KeywardOptions} [options]
 * @returns {OpenAIAPIAccess | null}
 */
export function getCachedOpenAIAPI(options = {}) {
  const entry = readCache(resolveCommonOptions(options));
  return entry ? toAccess(entry) : null;
}

/**
 * Sign out: revoke the access token at Keyward and forget it. The cache entry is removed even if
 * Keyward cannot be reached.
 * @param {SignOutOptions} [options]
 * @returns {Promise<void>}
 */
export async function signOut(options = {}) {
  const cfg = resolveCommonOptions(options);
  let token = options.apiKey;
  const store = getStorage(cfg.storage);
  if (store) {
    const key = cacheKey(cfg);
    if (token === undefined) token = parseCacheEntry(storageGet(store, key))?.apiKey;
    storageRemove(store, key);
  }
  if (!token) return;
  const body = new URLSearchParams({
    token,
    token_type_hint: "access_token",
    client_id: cfg.clientId,
  });
  try {
    await fetch(cfg.issuer + REVOKE_PATH, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: body.toString(),
      credentials: "omit",
    });
  } catch {
    // Revocation is best effort; the token is forgotten here either way.
  }
}

// ---------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------

/**
 * @param {KeywardOptions} options
 */
function resolveCommonOptions(options) {
  if (options === null || typeof options !== "object") {
    throw invalidRequest("Options must be an object, e.g. requestOpenAIAPI({ issuer: \"https://keyward.example\" }).");
  }
  const issuer = normaliseIssuer(options.issuer ?? defaultIssuer());
  const clientId = options.clientId ?? pageOrigin("clientId");
  if (typeof clientId !== "string" || clientId === "") {
    throw invalidRequest("`clientId` must be a non-empty string.");
  }
  const scopeOption = options.scope ?? DEFAULT_SCOPE;
  if (typeof scopeOption !== "string") {
    throw invalidRequest('`scope` must be a space-separated string, e.g. "openai.chat openai.models".');
  }
  const scope = scopeOption.trim().split(/\s+/).filter(Boolean).join(" ");
  const storage = options.storage ?? "session";
  if (storage !== "session" && storage !== "local" && storage !== "none") {
    throw invalidRequest('`storage` must be "session", "local" or "none".');
  }
  return { issuer, issuerOrigin: new URL(issuer).origin, clientId, scope, storage };
}

/**
 * @param {RequestOpenAIAPIOptions} options
 */
function resolveRequestOptions(options) {
  const common = resolveCommonOptions(options);
  const mode = options.mode ?? "popup";
  if (mode !== "popup" && mode !== "redirect") {
    throw invalidRequest('`mode` must be "popup" or "redirect".');
  }
  let redirectUri = options.redirectUri;
  if (redirectUri === undefined) {
    redirectUri = mode === "popup" ? pageOrigin("redirectUri") + "/" : pageUrlWithoutQuery();
  }
  if (typeof redirectUri !== "string" || !isHttpUrl(redirectUri)) {
    throw invalidRequest("`redirectUri` must be an absolute http(s) URL.");
  }
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  if (typeof timeoutMs !== "number" || Number.isNaN(timeoutMs) || timeoutMs <= 0) {
    throw invalidRequest("`timeoutMs` must be a positive number of milliseconds (or Infinity).");
  }
  const signal = options.signal;
  if (signal !== undefined && !isAbortSignal(signal)) {
    throw invalidRequest("`signal` must be an AbortSignal.");
  }
  if (options.popupFeatures !== undefined && typeof options.popupFeatures !== "string") {
    throw invalidRequest("`popupFeatures` must be a string of window.open() features.");
  }
  if (!globalThis.crypto?.subtle || typeof globalThis.crypto.getRandomValues !== "function") {
    throw invalidRequest(
      "Web Crypto is unavailable. Serve the page over https (or http://localhost): browsers expose " +
        "crypto.subtle only in secure contexts.",
    );
  }
  return {
    ...common,
    mode,
    redirectUri,
    timeoutMs,
    signal,
    popupFeatures: options.popupFeatures,
  };
}

/** @typedef {ReturnType<typeof resolveCommonOptions>} _CommonConfig */

/** @param {string} message */
function invalidRequest(message) {
  return new KeywardError("invalid_request", message);
}

/**
 * The issuer implied by where this module was loaded from: a Keyward server serves it at /sdk.js.
 * @returns {string}
 */
function defaultIssuer() {
  let url;
  try {
    url = new URL(import.meta.url);
  } catch {
    url = null;
  }
  if (url && (url.protocol === "http:" || url.protocol === "https:") && url.pathname.endsWith("/sdk.js")) {
    return url.origin;
  }
  throw invalidRequest(
    "Keyward's address is unknown. Pass it as requestOpenAIAPI({ issuer: \"https://keyward.example\" }), " +
      "or import this module from your Keyward server's /sdk.js.",
  );
}

/**
 * @param {unknown} issuer
 * @returns {string} The issuer URL without a trailing slash.
 */
function normaliseIssuer(issuer) {
  const url = typeof issuer === "string" ? safeUrl(issuer) : null;
  if (!url || (url.protocol !== "http:" && url.protocol !== "https:") || url.search || url.hash || url.username || url.password) {
    throw invalidRequest(
      `\`issuer\` must be Keyward's base URL, like "https://keyward.example" (got ${JSON.stringify(issuer)}).`,
    );
  }
  return url.href.replace(/\/+$/, "");
}

/**
 * @param {string} what The option that defaults to the page's origin.
 * @returns {string}
 */
function pageOrigin(what) {
  const origin = typeof location === "undefined" ? undefined : location.origin;
  if (!origin || origin === "null") {
    throw invalidRequest(
      `\`${what}\` defaults to the page's origin, but this page has none (not served over http(s)). ` +
        `Pass \`${what}\` explicitly.`,
    );
  }
  return origin;
}

/** The current page URL without query and fragment (the default redirect-mode redirect URI). */
function pageUrlWithoutQuery() {
  const origin = pageOrigin("redirectUri");
  return origin + location.pathname;
}

/** @returns {string} */
function currentHref() {
  if (typeof location === "undefined") {
    throw invalidRequest("handleRedirectCallback() needs a URL outside a browser page.");
  }
  return location.href;
}

/**
 * @param {string} href
 * @returns {URL | null}
 */
function safeUrl(href) {
  try {
    return new URL(href);
  } catch {
    return null;
  }
}

/** @param {string} href */
function isHttpUrl(href) {
  const url = safeUrl(href);
  return url !== null && (url.protocol === "http:" || url.protocol === "https:");
}

/**
 * @param {unknown} value
 * @returns {value is AbortSignal}
 */
function isAbortSignal(value) {
  return (
    typeof value === "object" &&
    value !== null &&
    "aborted" in value &&
    typeof (/** @type {AbortSignal} */ (value).addEventListener) === "function"
  );
}

/** @param {AbortSignal | undefined} signal */
function throwIfAborted(signal) {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * @param {AbortSignal} signal
 * @returns {unknown}
 */
function abortReason(signal) {
  return signal.reason ?? new DOMException("The operation was aborted.", "AbortError");
}

// ---------------------------------------------------------------------------------------------
// PKCE and the authorization request
// ---------------------------------------------------------------------------------------------

/**
 * @param {Uint8Array} bytes
 * @returns {string} base64url without padding
 */
function base64url(bytes) {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** @returns {string} 32 random bytes, base64url: 43 characters */
function randomString() {
  return base64url(crypto.getRandomValues(new Uint8Array(32)));
}

/**
 * The PKCE verifier (first) and state (second) for one authorization request.
 * @param {Window} [popup] Closed if the secrets cannot be made.
 */
function newRequestSecrets(popup) {
  try {
    const verifier = randomString();
    const state = randomString();
    return { verifier, state };
  } catch (err) {
    if (popup) closePopup(popup);
    throw err;
  }
}

/**
 * @param {string} verifier
 * @returns {Promise<string>} base64url(SHA-256(verifier))
 */
async function pkceChallenge(verifier) {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  return base64url(new Uint8Array(digest));
}

/**
 * @param {_CommonConfig & { redirectUri: string }} cfg
 * @param {string} state
 * @param {string} challenge
 * @param {string | null} responseMode
 */
function authorizeUrl(cfg, state, challenge, responseMode) {
  const params = new URLSearchParams({
    response_type: "code",
    client_id: cfg.clientId,
    redirect_uri: cfg.redirectUri,
    scope: cfg.scope,
    state,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  if (responseMode) params.set("response_mode", responseMode);
  return `${cfg.issuer}${AUTHORIZE_PATH}?${params}`;
}

// ---------------------------------------------------------------------------------------------
// Popup mode
// ---------------------------------------------------------------------------------------------

/**
 * Opens an empty popup synchronously (within the click's user activation).
 * @param {string | undefined} features
 * @returns {Window | null}
 */
function openPopup(features) {
  try {
    return window.open("about:blank", POPUP_NAME, features ?? centredPopupFeatures());
  } catch {
    return null; // e.g. a sandboxed iframe without allow-popups
  }
}

function centredPopupFeatures() {
  const screenHeight = typeof screen === "undefined" ? 0 : screen.availHeight || 0;
  const width = POPUP_WIDTH;
  const height = screenHeight > 0 ? Math.min(POPUP_HEIGHT, screenHeight) : POPUP_HEIGHT;
  const x = window.screenX ?? window.screenLeft ?? 0;
  const y = window.screenY ?? window.screenTop ?? 0;
  const outerW = window.outerWidth || width;
  const outerH = window.outerHeight || height;
  const left = Math.max(0, Math.round(x + (outerW - width) / 2));
  const top = Math.max(0, Math.round(y + (outerH - height) / 2));
  return `popup=yes,width=${width},height=${height},left=${left},top=${top}`;
}

/** @param {Window} popup */
function isClosed(popup) {
  try {
    return popup.closed === true;
  } catch {
    return false;
  }
}

/** @param {Window} popup */
function closePopup(popup) {
  try {
    if (!popup.closed) popup.close();
  } catch {
    // nothing to do
  }
}

/**
 * Points the popup at Keyward and waits for the authorization response it posts back.
 * @param {ReturnType<typeof resolveRequestOptions>} cfg
 * @param {Window} popup
 * @param {string} verifier
 * @param {string} state
 * @returns {Promise<string>} the authorization code
 */
function waitForPopupResponse(cfg, popup, verifier, state) {
  return new Promise((resolve, reject) => {
    let settled = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let timer;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    let closedGrace;
    const signal = cfg.signal;

    const cleanup = () => {
      settled = true;
      window.removeEventListener("message", onMessage);
      clearInterval(poll);
      if (timer !== undefined) clearTimeout(timer);
      if (closedGrace !== undefined) clearTimeout(closedGrace);
      signal?.removeEventListener("abort", onAbort);
      closePopup(popup);
    };
    /** @param {unknown} err */
    const fail = (err) => {
      if (settled) return;
      cleanup();
      reject(err);
    };

    /** @param {MessageEvent} event */
    function onMessage(event) {
      if (settled) return;
      // Only Keyward's own page in our popup, answering our request, counts. Anything else
      // (other windows, other origins, stale or forged states) is ignored.
      if (event.origin !== cfg.issuerOrigin || event.source !== popup) return;
      const data = /** @type {unknown} */ (event.data);
      if (!isRecord(data) || data.type !== "authorization_response") return;
      const response = data.response;
      if (!isRecord(response) || typeof response.state !== "string" || response.state !== state) return;

      if (response.iss !== cfg.issuer) {
        fail(issuerMismatch(response.iss, cfg.issuer));
        return;
      }
      if (typeof response.error === "string") {
        fail(oauthError(response.error, stringOrUndefined(response.error_description)));
        return;
      }
      if (typeof response.code !== "string" || response.code === "") {
        fail(new KeywardError("invalid_response", "Keyward's authorization response carried neither a code nor an error."));
        return;
      }
      const code = response.code;
      cleanup();
      resolve(code);
    }

    function onAbort() {
      fail(abortReason(/** @type {AbortSignal} */ (signal)));
    }

    window.addEventListener("message", onMessage);
    const poll = setInterval(() => {
      if (settled || closedGrace !== undefined || !isClosed(popup)) return;
      // A message the popup posted just before closing may still be queued: give it a moment.
      closedGrace = setTimeout(() => fail(new PopupClosedError()), POPUP_CLOSED_GRACE_MS);
    }, POPUP_POLL_MS);
    if (Number.isFinite(cfg.timeoutMs) && cfg.timeoutMs <= MAX_TIMER_MS) {
      timer = setTimeout(() => fail(new TimeoutError(cfg.timeoutMs)), cfg.timeoutMs);
    }
    signal?.addEventListener("abort", onAbort, { once: true });

    pkceChallenge(verifier).then((challenge) => {
      if (settled) return;
      const url = authorizeUrl(cfg, state, challenge, "web_message");
      try {
        popup.location.href = url;
      } catch (err) {
        fail(isClosed(popup) ? new PopupClosedError() : err);
      }
    }, fail);
  });
}

/**
 * @param {unknown} got
 * @param {string} expected
 */
function issuerMismatch(got, expected) {
  return new KeywardError(
    "invalid_issuer",
    `The authorization response came from issuer ${JSON.stringify(got ?? null)}, not ${JSON.stringify(expected)}. ` +
      "It was rejected (RFC 9207 mix-up protection); check the `issuer` option.",
  );
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
function isRecord(value) {
  return typeof value === "object" && value !== null;
}

/**
 * @param {unknown} value
 * @returns {string | undefined}
 */
function stringOrUndefined(value) {
  return typeof value === "string" ? value : undefined;
}

// ---------------------------------------------------------------------------------------------
// Redirect mode
// ---------------------------------------------------------------------------------------------

/**
 * @param {ReturnType<typeof resolveRequestOptions>} cfg
 * @returns {Promise<never>}
 */
async function startRedirect(cfg) {
  const store = getStorage("session");
  if (!store) {
    throw invalidRequest("Redirect mode keeps the PKCE verifier in sessionStorage, which this page cannot use.");
  }
  const { verifier, state } = newRequestSecrets();
  const challenge = await pkceChallenge(verifier);
  throwIfAborted(cfg.signal);
  sweepPending(store);
  const pending = {
    verifier,
    state,
    issuer: cfg.issuer,
    clientId: cfg.clientId,
    redirectUri: cfg.redirectUri,
    scope: cfg.scope,
    storage: cfg.storage,
    createdAt: Date.now(),
  };
  try {
    store.setItem(PENDING_PREFIX + state, JSON.stringify(pending));
  } catch (err) {
    throw new KeywardError("invalid_request", "Could not save the sign-in request in sessionStorage.", { cause: err });
  }
  location.assign(authorizeUrl(cfg, state, challenge, null));
  // The page is navigating away; handleRedirectCallback() takes over when it comes back.
  return new Promise(() => {});
}

/** @type {Map<string, Promise<OpenAIAPIAccess | null>>} */
const pendingCallbacks = new Map();

/**
 * @param {string} href
 * @returns {Promise<OpenAIAPIAccess | null>}
 */
async function completeRedirect(href) {
  const url = safeUrl(href);
  if (!url) throw invalidRequest(`handleRedirectCallback() got an invalid URL: ${JSON.stringify(href)}.`);
  const params = url.searchParams;
  if (!params.has("code") && !params.has("error")) return null;

  try {
    const state = params.get("state") ?? "";
    const store = getStorage("session");
    const key = PENDING_PREFIX + state;
    const pending = store && state ? parsePending(storageGet(store, key)) : null;
    if (store) storageRemove(store, key); // single use, whatever happens next
    if (!pending || pending.state !== state) {
      throw new KeywardError(
        "invalid_state",
        "This authorization response does not match a sign-in started in this tab (unknown or " +
          "already used `state`). Start again with requestOpenAIAPI({ mode: \"redirect\" }).",
      );
    }
    const iss = params.get("iss");
    if (iss !== pending.issuer) throw issuerMismatch(iss, pending.issuer);
    const error = params.get("error");
    if (error !== null) throw oauthError(error, params.get("error_description") ?? undefined);
    const code = params.get("code");
    if (!code) {
      throw new KeywardError("invalid_response", "Keyward's authorization response carried neither a code nor an error.");
    }
    /** @type {_CommonConfig} */
    const cfg = {
      issuer: pending.issuer,
      issuerOrigin: new URL(pending.issuer).origin,
      clientId: pending.clientId,
      scope: pending.scope,
      storage: pending.storage,
    };
    const entry = await exchangeCode(cfg, code, pending.verifier, pending.redirectUri, undefined);
    writeCache(cfg, entry);
    return toAccess(entry);
  } finally {
    stripOAuthParams(url);
  }
}

/**
 * @param {string | null} raw
 */
function parsePending(raw) {
  const value = parseJson(raw);
  if (!isRecord(value)) return null;
  const { verifier, state, issuer, clientId, redirectUri, scope, storage, createdAt } = value;
  if (
    typeof verifier !== "string" ||
    typeof state !== "string" ||
    typeof issuer !== "string" ||
    typeof clientId !== "string" ||
    typeof redirectUri !== "string" ||
    typeof scope !== "string" ||
    (storage !== "session" && storage !== "local" && storage !== "none")
  ) {
    return null;
  }
  /** @type {KeywardStorage} */
  const storageKind = storage;
  return {
    verifier,
    state,
    issuer,
    clientId,
    redirectUri,
    scope,
    storage: storageKind,
    createdAt: typeof createdAt === "number" ? createdAt : 0,
  };
}

/**
 * Drops redirect-mode requests that never came back.
 * @param {Storage} store
 */
function sweepPending(store) {
  try {
    const now = Date.now();
    for (let i = store.length - 1; i >= 0; i--) {
      const key = store.key(i);
      if (!key || !key.startsWith(PENDING_PREFIX)) continue;
      const pending = parsePending(storageGet(store, key));
      if (!pending || now - pending.createdAt > PENDING_MAX_AGE_MS) store.removeItem(key);
    }
  } catch {
    // storage not enumerable; nothing to sweep
  }
}

/**
 * Removes the OAuth response parameters from the address bar (when `url` is this page).
 * @param {URL} url
 */
function stripOAuthParams(url) {
  if (typeof location === "undefined" || typeof history === "undefined") return;
  const current = safeUrl(location.href);
  if (!current || current.origin !== url.origin || current.pathname !== url.pathname) return;
  let changed = false;
  for (const name of OAUTH_RESPONSE_PARAMS) {
    if (current.searchParams.has(name)) {
      current.searchParams.delete(name);
      changed = true;
    }
  }
  if (!changed) return;
  try {
    history.replaceState(history.state, "", current.pathname + current.search + current.hash);
  } catch {
    // not fatal
  }
}

// ---------------------------------------------------------------------------------------------
// Token endpoint
// ---------------------------------------------------------------------------------------------

/**
 * Exchanges an authorization code for an access token.
 * @param {_CommonConfig} cfg
 * @param {string} code
 * @param {string} verifier
 * @param {string} redirectUri
 * @param {AbortSignal | undefined} signal
 */
async function exchangeCode(cfg, code, verifier, redirectUri, signal) {
  const endpoint = cfg.issuer + TOKEN_PATH;
  const body = new URLSearchParams({
    grant_type: "authorization_code",
    code,
    redirect_uri: redirectUri,
    client_id: cfg.clientId,
    code_verifier: verifier,
  });
  /** @type {Response} */
  let res;
  try {
    res = await fetch(endpoint, {
      method: "POST",
      headers: {
        "Content-Type": "application/x-www-form-urlencoded",
        Accept: "application/json",
      },
      body: body.toString(),
      credentials: "omit",
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw abortReason(signal);
    throw new KeywardError(
      "network_error",
      `Could not reach Keyward's token endpoint (${endpoint}). Check the \`issuer\` option, the ` +
        "network, and that Keyward allows this page's origin.",
      { cause: err },
    );
  }
  /** @type {unknown} */
  let json;
  try {
    json = await res.json();
  } catch {
    json = null;
  }
  if (!res.ok) {
    if (isRecord(json) && typeof json.error === "string") {
      throw oauthError(json.error, stringOrUndefined(json.error_description));
    }
    throw new KeywardError(
      res.status >= 500 ? "server_error" : "invalid_response",
      `Keyward's token endpoint answered HTTP ${res.status} without an OAuth error. Check the \`issuer\` option.`,
    );
  }
  if (!isRecord(json) || typeof json.access_token !== "string" || json.access_token === "") {
    throw new KeywardError("invalid_response", "Keyward's token response has no access_token.");
  }
  if (typeof json.token_type === "string" && json.token_type.toLowerCase() !== "bearer") {
    throw new KeywardError("invalid_response", `Keyward issued an unsupported token type (${json.token_type}).`);
  }
  const baseURL = typeof json.base_url === "string" && isHttpUrl(json.base_url) ? json.base_url : cfg.issuer + "/v1";
  const expiresIn = typeof json.expires_in === "number" && Number.isFinite(json.expires_in) ? json.expires_in : null;
  return {
    apiKey: json.access_token,
    baseURL,
    expiresAt: expiresIn === null ? null : Date.now() + expiresIn * 1000,
    scope: typeof json.scope === "string" ? json.scope : cfg.scope,
  };
}

// ---------------------------------------------------------------------------------------------
// Cache
// ---------------------------------------------------------------------------------------------

/** @typedef {Awaited<ReturnType<typeof exchangeCode>>} _CacheEntry */

/**
 * @param {_CacheEntry} entry
 * @returns {OpenAIAPIAccess}
 */
function toAccess(entry) {
  return { apiKey: entry.apiKey, baseURL: entry.baseURL, dangerouslyAllowBrowser: true };
}

/**
 * @param {_CommonConfig} cfg
 */
function cacheKey(cfg) {
  return CACHE_PREFIX + JSON.stringify([cfg.issuer, cfg.clientId, cfg.scope]);
}

/**
 * @param {KeywardStorage} kind
 * @returns {Storage | null}
 */
function getStorage(kind) {
  if (kind === "none") return null;
  try {
    const store = kind === "local" ? globalThis.localStorage : globalThis.sessionStorage;
    return store ?? null;
  } catch {
    return null; // access denied (e.g. storage blocked for this site)
  }
}

/**
 * @param {Storage} store
 * @param {string} key
 * @returns {string | null}
 */
function storageGet(store, key) {
  try {
    return store.getItem(key);
  } catch {
    return null;
  }
}

/**
 * @param {Storage} store
 * @param {string} key
 */
function storageRemove(store, key) {
  try {
    store.removeItem(key);
  } catch {
    // ignore
  }
}

/**
 * @param {string | null} raw
 * @returns {unknown}
 */
function parseJson(raw) {
  if (raw === null) return null;
  try {
    return JSON.parse(raw);
  } catch {
    return null;
  }
}

/**
 * @param {string | null} raw
 * @returns {_CacheEntry | null}
 */
function parseCacheEntry(raw) {
  const value = parseJson(raw);
  if (!isRecord(value)) return null;
  const { apiKey, baseURL, expiresAt, scope } = value;
  if (typeof apiKey !== "string" || apiKey === "" || typeof baseURL !== "string") return null;
  if (expiresAt !== null && typeof expiresAt !== "number") return null;
  return { apiKey, baseURL, expiresAt, scope: typeof scope === "string" ? scope : "" };
}

/**
 * The cached entry if it is still good for more than a minute; expired entries are removed.
 * @param {_CommonConfig} cfg
 * @returns {_CacheEntry | null}
 */
function readCache(cfg) {
  const store = getStorage(cfg.storage);
  if (!store) return null;
  const key = cacheKey(cfg);
  const raw = storageGet(store, key);
  if (raw === null) return null;
  const entry = parseCacheEntry(raw);
  if (!entry || (entry.expiresAt !== null && entry.expiresAt - Date.now() <= EXPIRY_MARGIN_MS)) {
    storageRemove(store, key);
    return null;
  }
  return entry;
}

/**
 * @param {_CommonConfig} cfg
 * @param {_CacheEntry} entry
 */
function writeCache(cfg, entry) {
  const store = getStorage(cfg.storage);
  if (!store) return;
  try {
    store.setItem(cacheKey(cfg), JSON.stringify(entry));
  } catch {
    // quota or privacy mode: the result still works, it just is not remembered
  }
}
