// Checks every flow ends with: the browser reported nothing wrong, and no secret was in any
// page Keyward sent.
import assert from "node:assert/strict";

/**
 * @param {string[]} problems collected by lib/browser.js (CSP violations, uncaught errors)
 */
export function assertNoBrowserProblems(problems) {
  assert.deepEqual(problems, [], `the browser reported:\n${problems.join("\n")}`);
}

/**
 * No Keyward HTML page or JSON answer carries the person's provider key (not even its end, which
 * OpenAI's own error messages echo); no HTML page carries a token. The token endpoint's JSON is
 * where the app is meant to get its token, so only the provider key is looked for there.
 * @param {{ url: string, body: string }[]} responses from newWatchedContext().keywardResponses()
 * @param {{ providerKey: string, tokens?: string[] }} secrets
 */
export function assertNoSecretsInKeywardPages(responses, { providerKey, tokens = [] }) {
  assert.ok(responses.length > 0, "no Keyward response was recorded; the check would prove nothing");
  const keyTail = providerKey.slice(-8);
  for (const { url, body } of responses) {
    assert.ok(!body.includes(providerKey), `${url} contains the provider key`);
    assert.ok(!body.includes(keyTail), `${url} contains the end of the provider key (…${keyTail})`);
    if (new URL(url).pathname === "/oauth/token") continue;
    for (const token of tokens) {
      assert.ok(!body.includes(token), `${url} contains a token (${token.slice(0, 8)}…)`);
    }
    assert.ok(!/kw_(at|rt)_[A-Za-z0-9_-]{8,}/.test(body), `${url} contains something shaped like a Keyward token`);
  }
}
