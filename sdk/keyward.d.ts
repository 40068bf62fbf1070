// Type declarations for keyward.js, kept by hand. test/dts.test.js checks that they agree with
// the JSDoc types of keyward.js; test/types-check.ts exercises every export.

/** How the sign-in page is shown. */
export type KeywardMode = "popup" | "redirect";

/** Where the access token is cached. */
export type KeywardStorage = "session" | "local" | "none";

/** Options shared by every function: which Keyward, which app, which scopes, which cache. */
export type KeywardOptions = {
  /**
   * Keyward's base URL, e.g. `"https://keyward.example"`. Defaults to the origin this module was
   * loaded from when that URL ends in `/sdk.js`; otherwise required.
   */
  issuer?: string;
  /** The app's OAuth client id. Defaults to the page's origin (an "origin client"). */
  clientId?: string;
  /** Space-separated scope names. Default `"openai.chat openai.models"`. */
  scope?: string;
  /** `"session"` (sessionStorage, the default), `"local"` (localStorage) or `"none"`. */
  storage?: KeywardStorage;
};

/** Options for {@link requestOpenAIAPI}. */
export type RequestOpenAIAPIOptions = {
  /** See {@link KeywardOptions}. */
  issuer?: string;
  /** See {@link KeywardOptions}. */
  clientId?: string;
  /** See {@link KeywardOptions}. */
  scope?: string;
  /** See {@link KeywardOptions}. */
  storage?: KeywardStorage;
  /**
   * Registered redirect URI. Default: `location.origin + "/"` in popup mode; the current URL
   * without query and fragment in redirect mode.
   */
  redirectUri?: string;
  /** `"popup"` (default) or `"redirect"`. */
  mode?: KeywardMode;
  /** Cancels the sign-in and closes the popup. */
  signal?: AbortSignal;
  /** Popup mode: give up after this long. Default 5 minutes; `Infinity` waits indefinitely. */
  timeoutMs?: number;
  /** `window.open` features. Default: a centred 480×720 popup. */
  popupFeatures?: string;
};

/** Options for {@link signOut}. */
export type SignOutOptions = {
  /** See {@link KeywardOptions}. */
  issuer?: string;
  /** See {@link KeywardOptions}. */
  clientId?: string;
  /** See {@link KeywardOptions}. */
  scope?: string;
  /** See {@link KeywardOptions}. */
  storage?: KeywardStorage;
  /** The access token to revoke. Default: the cached one. */
  apiKey?: string;
};

/** What {@link requestOpenAIAPI} resolves to: pass it as it is to `new OpenAI(...)`. */
export type OpenAIAPIAccess = {
  /** A Keyward access token (`kw_at_…`), used like an OpenAI API key. */
  apiKey: string;
  /** Keyward's OpenAI-compatible proxy, e.g. `"https://keyward.example/v1"`. */
  baseURL: string;
  /** The token is scoped and revocable by the person, so it is meant to live in the browser. */
  dangerouslyAllowBrowser: true;
};

/** Every error this module throws (besides an AbortSignal's own reason) is a KeywardError. */
export class KeywardError extends Error {
  /**
   * @param code An OAuth error code from Keyward (`invalid_scope`, `invalid_client`, …) or one of
   *   this helper's own: `invalid_request`, `invalid_issuer`, `invalid_state`, `invalid_response`,
   *   `network_error`, `popup_blocked`, `popup_closed`, `timeout`.
   * @param message What happened and what to do about it.
   */
  constructor(code: string, message: string, options?: { description?: string; cause?: unknown });
  /** Machine-readable error code. */
  code: string;
  /** Keyward's `error_description`, when it sent one. */
  description: string | undefined;
}

/** The browser refused to open the sign-in popup (`code === "popup_blocked"`). */
export class PopupBlockedError extends KeywardError {
  constructor();
}

/** The person declined to let the app use their key (`code === "access_denied"`). */
export class AccessDeniedError extends KeywardError {
  constructor(description?: string);
}

/** The person closed the sign-in popup before finishing (`code === "popup_closed"`). */
export class PopupClosedError extends KeywardError {
  constructor();
}

/** Sign-in did not finish within `timeoutMs` (`code === "timeout"`). */
export class TimeoutError extends KeywardError {
  constructor(timeoutMs: number);
}

/**
 * Ask the person for access to their OpenAI API key through Keyward.
 *
 * Resolves to `{ apiKey, baseURL, dangerouslyAllowBrowser: true }` for `new OpenAI(...)`. A token
 * cached by an earlier call (same issuer, clientId and scope) is returned at once, without a popup.
 *
 * Popup mode (default): call it directly in a click handler, before any `await`. Redirect mode
 * navigates this tab to Keyward and the returned promise never settles; call
 * {@link handleRedirectCallback} when the page loads again.
 */
export function requestOpenAIAPI(options?: RequestOpenAIAPIOptions): Promise<OpenAIAPIAccess>;

/**
 * Finish a redirect-mode sign-in. Resolves to `null` when the URL carries no authorization
 * response; otherwise to the same object as {@link requestOpenAIAPI}.
 * @param url The URL Keyward redirected to. Default: `location.href`.
 */
export function handleRedirectCallback(url?: string | URL): Promise<OpenAIAPIAccess | null>;

/** The cached result of an earlier sign-in, or `null`. Synchronous; never opens a popup. */
export function getCachedOpenAIAPI(options?: KeywardOptions): OpenAIAPIAccess | null;

/** Revoke the access token at Keyward (best effort) and forget it. */
export function signOut(options?: SignOutOptions): Promise<void>;
