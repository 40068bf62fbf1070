import { startStack } from "./lib/stack.js";
import { newWatchedContext } from "./lib/browser.js";
import { screenshot } from "./lib/person.js";
const stack = await startStack("scratch");
try {
  const w = await newWatchedContext(stack.browser, { keywardOrigin: stack.keyward.origin, viewport: {width: 480, height: 720} });
  const p = await w.context.newPage();
  await p.goto(stack.keyward.origin + "/signup");
  await p.getByLabel("OpenAI API key").fill("sk-invalid-123456789");
  await p.getByRole("button", { name: "Check the key and continue" }).click();
  await p.waitForLoadState();
  await screenshot(p, "scratch-invalid-key");
  await p.goto(stack.keyward.origin + "/oauth/authorize?response_type=code&client_id=" + encodeURIComponent(stack.appA.origin) + "&redirect_uri=" + encodeURIComponent("https://evil.example/cb") + "&code_challenge=abcabcabcabcabcabcabcabcabcabcabcabcabcabca&code_challenge_method=S256&state=x");
  await screenshot(p, "scratch-bad-redirect");
  await p.goto(stack.keyward.origin + "/");
  await screenshot(p, "scratch-landing");
  await p.goto(stack.keyward.origin + "/account");
  await screenshot(p, "scratch-account");
  console.log(w.problems);
} finally { await stack.stop(); }
