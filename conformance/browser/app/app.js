// The test app: what an app developer writes with the keyward helper and the official openai
// SDK. Bundled by esbuild (lib/app-bundle.js) with `keyward` resolved to sdk/keyward.js.
//
// What it shows, for the tests to read:
//   body[data-state]   loading | signed-out | signing-in | signed-in | streaming | failed
//   #output            the streamed reply, one <span class="chunk"> per content delta;
//                      data-done="true" once the stream has ended; data-chats counts
//                      the streams completed since the page loaded
//   #error             "<ErrorClass>: message"; data-error = the class the app matched with
//                      instanceof (how an app branches on errors), data-status = HTTP status,
//                      data-code = the error's code (KeywardError's OAuth error code)
//   window.appMessages every postMessage this window received: { origin, type }
// and reads the prompt and the model to chat with from its #prompt and #model fields.
import OpenAI from "openai";
import {
  AccessDeniedError,
  KeywardError,
  PopupBlockedError,
  PopupClosedError,
  TimeoutError,
  handleRedirectCallback,
  requestOpenAIAPI,
  signOut,
} from "keyward";

const { issuer } = JSON.parse(document.getElementById("config").textContent);
// Tests can pass the helper's other options in the page's query: ?scope=…&timeoutMs=…
const query = new URLSearchParams(location.search);
const options = {
  issuer,
  ...(query.has("scope") && { scope: query.get("scope") }),
  ...(query.has("timeoutMs") && { timeoutMs: Number(query.get("timeoutMs")) }),
};
const $ = (id) => document.getElementById(id);

/** @type {{ origin: string, type: unknown }[]} */
window.appMessages = [];
window.addEventListener("message", (event) => {
  window.appMessages.push({ origin: event.origin, type: event.data?.type });
});

function setState(state, status = "") {
  document.body.dataset.state = state;
  $("status").textContent = status;
}

/** The error class an app would branch on, most specific first. */
function errorClass(err) {
  const classes = [
    ["AccessDeniedError", AccessDeniedError],
    ["PopupClosedError", PopupClosedError],
    ["PopupBlockedError", PopupBlockedError],
    ["TimeoutError", TimeoutError],
    ["KeywardError", KeywardError],
    ["AuthenticationError", OpenAI.AuthenticationError],
    ["PermissionDeniedError", OpenAI.PermissionDeniedError],
    ["RateLimitError", OpenAI.RateLimitError],
    ["APIError", OpenAI.APIError],
  ];
  return classes.find(([, cls]) => err instanceof cls)?.[0] ?? "Error";
}

function showError(err) {
  const name = errorClass(err);
  const box = $("error");
  box.textContent = `${name}: ${err?.message ?? err}`;
  box.dataset.error = name;
  if (typeof err?.status === "number") box.dataset.status = String(err.status);
  if (typeof err?.code === "string") box.dataset.code = err.code;
  setState("failed");
}

function clearError() {
  const box = $("error");
  box.textContent = "";
  delete box.dataset.error;
  delete box.dataset.status;
  delete box.dataset.code;
}

/** Streams one reply into #output, chunk by chunk, as it arrives. */
async function chat(openai) {
  const output = $("output");
  output.replaceChildren();
  output.dataset.done = "false";
  setState("streaming", "Streaming…");
  const stream = await openai.chat.completions.create({
    model: $("model").value,
    stream: true,
    messages: [{ role: "user", content: $("prompt").value }],
  });
  for await (const chunk of stream) {
    const text = chunk.choices[0]?.delta?.content;
    if (!text) continue;
    const span = document.createElement("span");
    span.className = "chunk";
    span.textContent = text;
    output.append(span);
  }
  output.dataset.done = "true";
  output.dataset.chats = String(Number(output.dataset.chats ?? 0) + 1);
  setState("signed-in", "Done.");
}

// requestOpenAIAPI() is the first call in the click handler, before any await, so the browser
// lets it open the popup.
$("signin").addEventListener("click", async () => {
  clearError();
  setState("signing-in", "Waiting for Keyward…");
  try {
    const openai = new OpenAI(await requestOpenAIAPI(options));
    await chat(openai);
  } catch (err) {
    showError(err);
  }
});

// Uses the cached token (no popup when one is cached).
$("chat").addEventListener("click", async () => {
  clearError();
  try {
    const openai = new OpenAI(await requestOpenAIAPI(options));
    await chat(openai);
  } catch (err) {
    showError(err);
  }
});

$("signin-redirect").addEventListener("click", () => {
  clearError();
  setState("signing-in", "Going to Keyward…");
  requestOpenAIAPI({ ...options, mode: "redirect" }).catch(showError);
});

$("signout").addEventListener("click", async () => {
  clearError();
  await signOut(options);
  setState("signed-out", "Signed out.");
});

// Redirect mode comes back here with ?code=…&state=…&iss=…
handleRedirectCallback().then(
  async (access) => {
    if (!access) {
      setState("signed-out");
      // A mistake apps make: asking for the popup outside a click (here: on page load, with
      // ?signin-on-load). The browser's popup blocker refuses it.
      if (query.has("signin-on-load")) {
        requestOpenAIAPI(options).then(() => setState("signed-in"), showError);
      }
      return;
    }
    const openai = new OpenAI(access);
    await chat(openai).catch(showError);
  },
  showError,
);
