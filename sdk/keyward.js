// Placeholder: the JavaScript helper lives in main (sdk/keyward.js); the lead replaces this file
// when merging. Keyward embeds whatever is here and serves it at /sdk.js.
export async function requestOpenAIAPI() {
  throw new Error("keyward.js placeholder: the real helper is not merged yet");
}
