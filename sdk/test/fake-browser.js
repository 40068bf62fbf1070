// A tiny fake of the browser pieces keyward.js touches: window.open and popups, message events,
// location/history, sessionStorage/localStorage, fetch and (optionally) crypto.getRandomValues.
import { webcrypto } from "node:crypto";

export const ISSUER = "http://localhost:8080";
export const APP_ORIGIN = "https://app.example";
export const BASE_URL = "http://localhost:8080/v1";

export class FakeStorage {
  constructor() {
    /** @type {Map<string, string>} */
    this.map = new Map();
  }
  get length() {
    return this.map.size;
  }
  /** @param {number} i */
  key(i) {
    return [...this.map.keys()][i] ?? null;
  }
  /** @param {string} k */
  getItem(k) {
    return this.map.has(k) ? /** @type {string} */ (this.map.get(k)) : null;
  }
  /** @param {string} k @param {string} v */
  setItem(k, v) {
    this.map.set(k, String(v));
  }
  /** @param {string} k */
  removeItem(k) {
    this.map.delete(k);
  }
  clear() {
    this.map.clear();
  }
  /** Parsed entries whose key starts with `prefix`. */
  entries(prefix = "") {
    return [...this.map].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k, JSON.parse(v)]);
  }
}

class FakeLocation {
  /** @param {string} href */
  constructor(href) {
    this.url = new URL(href);
    /** @type {string[]} */
    this.assigned = [];
  }
  get href() {
    return this.url.href;
  }
  set href(v) {
    this.url = new URL(v, this.url);
  }
  get origin() {
    return this.url.origin;
  }
  get pathname() {
    return this.url.pathname;
  }
  get search() {
    return this.url.search;
  }
  get hash() {
    return this.url.hash;
  }
  /** @param {string} url */
  assign(url) {
    this.assigned.push(url);
  }
}

export class FakePopup {
  /** @param {string} url @param {string} name @param {string} features */
  constructor(url, name, features) {
    this.openedWith = { url, name, features };
    this.closed = false;
    this.closeCalls = 0;
    /** @type {string[]} */
    this.navigations = [];
    /** @type {(url: string) => void} */
    let onNavigate = () => {};
    /** Resolves with the first URL the popup is sent to (the authorize URL). */
    this.navigated = new Promise((resolve) => {
      onNavigate = resolve;
    });
    const popup = this;
    this.location = {
      get href() {
        return popup.navigations.at(-1) ?? url;
      },
      set href(v) {
        if (popup.closed) throw new Error("popup is closed");
        popup.navigations.push(v);
        onNavigate(v);
      },
    };
  }
  close() {
    this.closeCalls++;
    this.closed = true;
  }
}

/**
 * Installs the fakes on globalThis. Returns handles to drive and inspect them; call
 * `await env.settle()` when done (tests do it in afterEach).
 * @param {{ href?: string }} [options]
 */
export function installBrowser({ href = `${APP_ORIGIN}/chat/page?x=1#frag` } = {}) {
  /** @type {Set<(event: any) => void>} */
  const messageListeners = new Set();
  /** @type {FakePopup[]} */
  const popups = [];
  /** @type {{ url: string, init: any, body: URLSearchParams }[]} */
  const fetchCalls = [];
  const saved = new Map();
  const names = ["window", "location", "history", "sessionStorage", "localStorage", "fetch", "crypto", "screen"];
  for (const name of names) saved.set(name, Object.getOwnPropertyDescriptor(globalThis, name));

  const env = {
    popups,
    fetchCalls,
    messageListeners,
    /** Set to make window.open return null ("blocked") or throw ("throw"). */
    popupBehaviour: /** @type {"open" | "blocked" | "throw"} */ ("open"),
    /** Answers fetch; replace per test. */
    fetchHandler: /** @type {(url: string, init: any) => Promise<Response> | Response} */ (defaultFetchHandler),
    sessionStorage: new FakeStorage(),
    localStorage: new FakeStorage(),
    location: new FakeLocation(href),
    /** @type {string[]} */
    replacedUrls: [],
    /**
     * Delivers a message event to the window's listeners, as the browser would.
     * @param {{ origin: string, source: unknown, data: unknown }} event
     */
    post(event) {
      for (const listener of [...messageListeners]) listener(event);
    },
    /** Makes crypto.getRandomValues return these byte arrays, in order, then random ones. */
    /** @param {number[][]} sequences */
    scriptRandomBytes(sequences) {
      const queue = [...sequences];
      Object.defineProperty(globalThis, "crypto", {
        configurable: true,
        writable: true,
        value: {
          subtle: webcrypto.subtle,
          /** @param {Uint8Array} array */
          getRandomValues(array) {
            const next = queue.shift();
            if (!next) return webcrypto.getRandomValues(array);
            array.set(next);
            return array;
          },
        },
      });
    },
    /**
     * Closes popups a test left open (e.g. after a failed assertion) and waits for the helper to
     * notice, so no sign-in keeps polling after the test; then restores the real globals.
     */
    async settle() {
      const open = popups.filter((p) => !p.closed);
      for (const popup of open) popup.close();
      if (open.length > 0) await tick(700);
      env.uninstall();
    },
    uninstall() {
      for (const [name, descriptor] of saved) {
        if (descriptor) Object.defineProperty(globalThis, name, descriptor);
        else delete (/** @type {any} */ (globalThis))[name];
      }
    },
  };

  const fakeWindow = {
    screenX: 100,
    screenY: 50,
    outerWidth: 1280,
    outerHeight: 900,
    /** @param {string} type @param {(event: any) => void} fn */
    addEventListener(type, fn) {
      if (type === "message") messageListeners.add(fn);
    },
    /** @param {string} type @param {(event: any) => void} fn */
    removeEventListener(type, fn) {
      if (type === "message") messageListeners.delete(fn);
    },
    /** @param {string} url @param {string} name @param {string} features */
    open(url, name, features) {
      if (env.popupBehaviour === "blocked") return null;
      if (env.popupBehaviour === "throw") throw new Error("sandboxed");
      const popup = new FakePopup(url, name, features);
      popups.push(popup);
      return popup;
    },
  };
  const history = {
    state: null,
    /** @param {unknown} state @param {string} _title @param {string} url */
    replaceState(state, _title, url) {
      this.state = /** @type {any} */ (state);
      env.replacedUrls.push(url);
      env.location.href = url;
    },
  };
  /** @param {string | URL} url @param {any} init */
  async function fakeFetch(url, init = {}) {
    fetchCalls.push({ url: String(url), init, body: new URLSearchParams(init.body ?? "") });
    return env.fetchHandler(String(url), init);
  }

  const define = (/** @type {string} */ name, /** @type {unknown} */ value) =>
    Object.defineProperty(globalThis, name, { configurable: true, writable: true, value });
  define("window", fakeWindow);
  define("location", env.location);
  define("history", history);
  define("sessionStorage", env.sessionStorage);
  define("localStorage", env.localStorage);
  define("fetch", fakeFetch);
  define("screen", { availHeight: 1000, availWidth: 1600 });
  return env;
}

/**
 * Keyward's token endpoint and revocation endpoint, happy path.
 * @param {string} url
 * @param {any} init
 */
export function defaultFetchHandler(url, init) {
  if (url === `${ISSUER}/oauth/token`) {
    const scope = "openai.chat openai.models";
    return json(200, {
      access_token: "kw_at_test_token",
      token_type: "Bearer",
      expires_in: 3600,
      scope,
      refresh_token: "kw_rt_never_stored",
      base_url: BASE_URL,
    });
  }
  if (url === `${ISSUER}/oauth/revoke`) return new Response(null, { status: 200 });
  return json(404, { error: "not_found", init: String(init?.method) });
}

/**
 * @param {number} status
 * @param {unknown} body
 */
export function json(status, body) {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
}

/** Resolves after the current macrotask queue drains a little. */
export function tick(ms = 0) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

const PENDING = Symbol("pending");
/**
 * Whether a promise is still pending after giving it a chance to settle.
 * @param {Promise<unknown>} promise
 */
export async function isPending(promise, ms = 20) {
  const winner = await Promise.race([promise.then(() => "settled", () => "settled"), tick(ms).then(() => PENDING)]);
  return winner === PENDING;
}

/**
 * The popup's authorize URL once the helper has navigated it there.
 * @param {FakePopup} popup
 */
export async function authorizeParams(popup) {
  const url = new URL(await popup.navigated);
  return { url, params: url.searchParams, state: /** @type {string} */ (url.searchParams.get("state")) };
}

/**
 * The message Keyward's popup page posts to its opener.
 * @param {FakePopup} popup
 * @param {Record<string, unknown>} response
 */
export function authorizationResponse(popup, response, origin = ISSUER) {
  return { origin, source: popup, data: { type: "authorization_response", response } };
}
