// Keyward demo chat: sign in with requestOpenAIAPI(), list the models the grant allows, and stream
// chat completions with plain fetch + SSE parsing (no bundler, no openai SDK).
import {
  AccessDeniedError,
  KeywardError,
  PopupBlockedError,
  PopupClosedError,
  TimeoutError,
  getCachedOpenAIAPI,
  handleRedirectCallback,
  requestOpenAIAPI,
  signOut,
} from "/sdk.js";

const MODEL_KEY = "keyward-demo:model";
// The demo is a client this Keyward registers itself (src/oauth/first_party.rs), not an origin
// client: Keyward's own origin never is one.
const CLIENT = { clientId: "keyward-demo", redirectUri: `${location.origin}/demo` };
const PREFERRED_MODELS = ["gpt-4o-mini", "gpt-4.1-mini", "gpt-4o", "gpt-4.1"];

/** @param {string} id */
function el(id) {
  const node = document.getElementById(id);
  if (!node) throw new Error(`#${id} missing from the page`);
  return node;
}

const ui = {
  signin: /** @type {HTMLButtonElement} */ (el("signin")),
  signout: /** @type {HTMLButtonElement} */ (el("signout")),
  intro: el("intro"),
  chat: el("chat"),
  model: /** @type {HTMLSelectElement} */ (el("model")),
  clear: /** @type {HTMLButtonElement} */ (el("clear")),
  output: el("output"),
  empty: el("empty"),
  composer: /** @type {HTMLFormElement} */ (el("composer")),
  prompt: /** @type {HTMLTextAreaElement} */ (el("prompt")),
  send: /** @type {HTMLButtonElement} */ (el("send")),
  stop: /** @type {HTMLButtonElement} */ (el("stop")),
  status: el("status"),
  errorBox: el("error-box"),
  error: el("error"),
  signinRedirect: /** @type {HTMLButtonElement} */ (el("signin-redirect")),
};

/** @type {{ apiKey: string, baseURL: string } | null} */
let access = null;
/** @type {{ role: "user" | "assistant", content: string }[]} */
let conversation = [];
/** @type {AbortController | null} */
let streaming = null;

// ---------------------------------------------------------------------------------------------
// UI state
// ---------------------------------------------------------------------------------------------

/** @param {"signed-out" | "signed-in" | "streaming" | "loading"} state */
function setState(state) {
  document.body.dataset.state = state;
  const signedIn = state === "signed-in" || state === "streaming";
  ui.signin.hidden = signedIn || state === "loading";
  ui.signout.hidden = !signedIn;
  ui.intro.hidden = signedIn || state === "loading";
  ui.chat.hidden = !signedIn;
  ui.send.hidden = state === "streaming";
  ui.stop.hidden = state !== "streaming";
  ui.model.disabled = state !== "signed-in" || ui.model.options.length === 0;
  ui.send.disabled = state !== "signed-in" || ui.model.options.length === 0;
  ui.clear.disabled = state === "streaming";
}

/** @param {string} text */
function setStatus(text) {
  ui.status.textContent = text;
}

/**
 * @param {string} text
 * @param {{ offerRedirect?: boolean }} [options]
 */
function showError(text, options = {}) {
  ui.error.textContent = text;
  ui.signinRedirect.hidden = !options.offerRedirect;
  ui.errorBox.hidden = false;
}

function clearError() {
  ui.errorBox.hidden = true;
  ui.error.textContent = "";
  ui.signinRedirect.hidden = true;
}

// ---------------------------------------------------------------------------------------------
// Sign in / out
// ---------------------------------------------------------------------------------------------

/** @param {{ apiKey: string, baseURL: string }} result */
async function signedIn(result) {
  access = { apiKey: result.apiKey, baseURL: result.baseURL.replace(/\/+$/, "") };
  setState("signed-in");
  setStatus("Signed in. Loading the models you allowed…");
  await loadModels();
}

function signedOutUi() {
  streaming?.abort();
  access = null;
  conversation = [];
  ui.model.replaceChildren();
  resetOutput();
  setState("signed-out");
}

/** @param {unknown} err */
function describeSignInError(err) {
  if (err instanceof PopupBlockedError) {
    return { text: "Your browser blocked the sign-in popup. Allow popups for this site, or continue in this tab.", offerRedirect: true };
  }
  if (err instanceof AccessDeniedError) return { text: "You declined to let this app use your key. Nothing was shared." };
  if (err instanceof PopupClosedError) return { text: "Sign-in was cancelled: the popup was closed." };
  if (err instanceof TimeoutError) return { text: "Sign-in took too long. Please try again." };
  if (err instanceof KeywardError) return { text: `Sign-in failed (${err.code}): ${err.description ?? err.message}` };
  return { text: `Sign-in failed: ${err instanceof Error ? err.message : String(err)}` };
}

ui.signin.addEventListener("click", () => {
  // requestOpenAIAPI() runs first, synchronously within the click, so the popup is allowed.
  const pending = requestOpenAIAPI(CLIENT);
  clearError();
  ui.signin.disabled = true;
  setStatus("Waiting for you to approve this app in the Keyward popup…");
  pending
    .then(signedIn, (err) => {
      const { text, offerRedirect } = describeSignInError(err);
      showError(text, { offerRedirect });
      setStatus("");
    })
    .finally(() => {
      ui.signin.disabled = false;
    });
});

ui.signinRedirect.addEventListener("click", () => {
  clearError();
  setStatus("Taking you to Keyward…");
  requestOpenAIAPI({ ...CLIENT, mode: "redirect" }).catch((err) => showError(describeSignInError(err).text));
});

ui.signout.addEventListener("click", async () => {
  ui.signout.disabled = true;
  clearError();
  try {
    await signOut(CLIENT);
  } finally {
    ui.signout.disabled = false;
    signedOutUi();
    setStatus("Signed out.");
  }
});

/** The grant is gone (revoked by the person on their Keyward dashboard, or expired). */
async function accessRevoked() {
  await signOut(CLIENT).catch(() => {});
  signedOutUi();
  showError("This app's access was revoked — sign in again.");
  setStatus("");
}

// ---------------------------------------------------------------------------------------------
// Keyward's OpenAI-compatible API
// ---------------------------------------------------------------------------------------------

class ApiError extends Error {
  /** @param {number} status @param {string} message @param {string | null} [retryAfter] */
  constructor(status, message, retryAfter = null) {
    super(message);
    this.status = status;
    this.retryAfter = retryAfter;
  }
}

/**
 * Reads OpenAI's error shape `{"error": {"message", "type", "code"}}` from a failed response.
 * @param {Response} res
 */
async function apiError(res) {
  let message = "";
  try {
    const body = await res.json();
    message = typeof body?.error?.message === "string" ? body.error.message : "";
  } catch {
    // not JSON
  }
  return new ApiError(res.status, message || res.statusText || `HTTP ${res.status}`, res.headers.get("Retry-After"));
}

/**
 * A readable sentence for an API failure; true when it means "sign in again".
 * @param {unknown} err
 */
function describeApiError(err) {
  if (err instanceof ApiError) {
    switch (err.status) {
      case 401:
        return { revoked: true, text: "This app's access was revoked — sign in again." };
      case 403:
        return { revoked: false, text: `Not allowed by the access you granted: ${err.message}` };
      case 429: {
        const wait = err.retryAfter ? ` Try again in ${err.retryAfter} s.` : "";
        return { revoked: false, text: `Limit reached: ${err.message}${wait}` };
      }
      case 413:
        return { revoked: false, text: "That message is too long. Start a new chat or shorten it." };
      case 502:
      case 503:
      case 504:
        return { revoked: false, text: `OpenAI could not be reached through Keyward (${err.status}). Try again in a moment.` };
      default:
        return { revoked: false, text: `Request failed (${err.status}): ${err.message}` };
    }
  }
  if (err instanceof TypeError) {
    return { revoked: false, text: "Could not reach Keyward. Check your connection and try again." };
  }
  return { revoked: false, text: err instanceof Error ? err.message : String(err) };
}

/** @param {string} path @param {RequestInit} [init] */
function api(path, init = {}) {
  if (!access) throw new Error("Not signed in");
  const headers = new Headers(init.headers);
  headers.set("Authorization", `Bearer ${access.apiKey}`);
  return fetch(`${access.baseURL}${path}`, { ...init, headers, credentials: "omit" });
}

async function loadModels() {
  ui.model.replaceChildren();
  setState("signed-in");
  try {
    const res = await api("/models");
    if (!res.ok) throw await apiError(res);
    const body = await res.json();
    /** @type {string[]} */
    const ids = (Array.isArray(body?.data) ? body.data : [])
      .map((/** @type {{ id?: unknown }} */ m) => m?.id)
      .filter((/** @type {unknown} */ id) => typeof id === "string")
      .sort((/** @type {string} */ a, /** @type {string} */ b) => a.localeCompare(b));
    for (const id of ids) ui.model.append(new Option(id, id));
    if (ids.length === 0) {
      setState("signed-in");
      showError("Your grant allows no models. Sign out and approve the app again with at least one model.");
      setStatus("");
      return;
    }
    const saved = localStorage.getItem(MODEL_KEY);
    const preferred = [saved, ...PREFERRED_MODELS].find((id) => id && ids.includes(id)) ?? ids[0];
    ui.model.value = preferred;
    setState("signed-in");
    setStatus(`Signed in · ${ids.length} model${ids.length === 1 ? "" : "s"} available`);
    ui.prompt.focus();
  } catch (err) {
    const { revoked, text } = describeApiError(err);
    if (revoked) return accessRevoked();
    showError(`Could not load models. ${text}`);
    setStatus("");
  }
}

ui.model.addEventListener("change", () => {
  try {
    localStorage.setItem(MODEL_KEY, ui.model.value);
  } catch {
    // storage unavailable: not remembered
  }
});

/**
 * Yields the `data` of each server-sent event in a response body.
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<string>}
 */
async function* sseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, { stream: true });
      for (let match = /\r\n\r\n|\n\n|\r\r/.exec(buffer); match; match = /\r\n\r\n|\n\n|\r\r/.exec(buffer)) {
        const event = buffer.slice(0, match.index);
        buffer = buffer.slice(match.index + match[0].length);
        const data = eventData(event);
        if (data !== null) yield data;
      }
    }
    buffer += decoder.decode();
    const data = eventData(buffer);
    if (data !== null) yield data;
  } finally {
    reader.cancel().catch(() => {});
  }
}

/** @param {string} event */
function eventData(event) {
  const lines = event.split(/\r\n|\r|\n/).filter((line) => line.startsWith("data:"));
  if (lines.length === 0) return null;
  return lines.map((line) => line.slice(5).replace(/^ /, "")).join("\n");
}

// ---------------------------------------------------------------------------------------------
// Chat
// ---------------------------------------------------------------------------------------------

function resetOutput() {
  ui.output.replaceChildren(ui.empty);
  ui.empty.hidden = false;
}

/**
 * @param {"user" | "assistant"} role
 * @param {string} text
 */
function appendMessage(role, text) {
  ui.empty.hidden = true;
  const item = document.createElement("div");
  item.className = `message ${role}`;
  item.dataset.role = role;
  const who = document.createElement("div");
  who.className = "who";
  who.textContent = role === "user" ? "You" : ui.model.value;
  const content = document.createElement("div");
  content.className = "content";
  content.textContent = text;
  item.append(who, content);
  ui.output.append(item);
  scrollToEnd();
  return { item, content };
}

function scrollToEnd() {
  ui.output.scrollTop = ui.output.scrollHeight;
}

async function send() {
  const text = ui.prompt.value.trim();
  if (!text || !access || streaming || !ui.model.value) return;
  clearError();
  const model = ui.model.value;
  conversation.push({ role: "user", content: text });
  const question = appendMessage("user", text);
  ui.prompt.value = "";
  const reply = appendMessage("assistant", "");
  reply.item.classList.add("pending");

  const controller = new AbortController();
  streaming = controller;
  setState("streaming");
  setStatus(`Streaming from ${model}…`);
  let answer = "";
  try {
    const res = await api("/chat/completions", {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "text/event-stream" },
      body: JSON.stringify({ model, messages: conversation, stream: true }),
      signal: controller.signal,
    });
    if (!res.ok) throw await apiError(res);
    if (!res.body) throw new Error("The response has no body to stream.");
    for await (const data of sseData(res.body)) {
      if (data === "[DONE]") break;
      let chunk;
      try {
        chunk = JSON.parse(data);
      } catch {
        continue; // not a JSON chunk (e.g. a comment-like keep-alive)
      }
      if (chunk?.error) throw new ApiError(500, chunk.error.message ?? "The stream reported an error.");
      const delta = chunk?.choices?.[0]?.delta?.content;
      if (typeof delta === "string" && delta) {
        answer += delta;
        reply.content.textContent = answer;
        reply.item.classList.remove("pending");
        scrollToEnd();
      }
    }
    if (!answer) reply.content.textContent = "(empty reply)";
    conversation.push({ role: "assistant", content: answer });
    setStatus(`Signed in · ${model}`);
  } catch (err) {
    reply.item.classList.remove("pending");
    if (controller.signal.aborted) {
      if (answer) conversation.push({ role: "assistant", content: answer });
      else conversation.pop();
      reply.content.textContent = answer ? `${answer} …` : "(stopped)";
      reply.item.classList.add("stopped");
      setStatus("Stopped.");
    } else {
      // The message was not answered: take it back into the box so the person can retry it.
      conversation.pop();
      reply.item.remove();
      question.item.remove();
      if (!conversation.length) resetOutput();
      ui.prompt.value = ui.prompt.value || text;
      const { revoked, text: message } = describeApiError(err);
      if (revoked) {
        streaming = null;
        await accessRevoked();
        return;
      }
      showError(message);
      setStatus("");
    }
  } finally {
    if (streaming === controller) streaming = null;
    if (access) setState("signed-in");
  }
}

ui.composer.addEventListener("submit", (event) => {
  event.preventDefault();
  void send();
});

ui.prompt.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    void send();
  }
});

ui.stop.addEventListener("click", () => streaming?.abort());

ui.clear.addEventListener("click", () => {
  conversation = [];
  resetOutput();
  clearError();
  ui.prompt.focus();
});

// ---------------------------------------------------------------------------------------------
// Start
// ---------------------------------------------------------------------------------------------

async function start() {
  try {
    const fromRedirect = await handleRedirectCallback();
    if (fromRedirect) return signedIn(fromRedirect);
  } catch (err) {
    signedOutUi();
    showError(describeSignInError(err).text);
    return;
  }
  const cached = getCachedOpenAIAPI(CLIENT);
  if (cached) return signedIn(cached);
  signedOutUi();
  setStatus("");
}

void start();
