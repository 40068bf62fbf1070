// Headless Chromium from Debian (never a Playwright-downloaded browser), and browser contexts
// that watch what a person's browser would complain about: CSP violations, console errors and
// uncaught exceptions, plus every HTML page Keyward sent (to check no secret is in one).
import { chromium } from "playwright-core";

import { chromiumBinary } from "./paths.js";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox", // root in CI containers
  "--disable-gpu",
  "--disable-background-networking", // no calls home: the suite only talks to loopback
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-extensions",
  "--disable-sync",
  "--disable-dev-shm-usage",
  "--no-first-run",
  "--no-default-browser-check",
  "--mute-audio",
  "--password-store=basic",
  "--use-mock-keychain",
];

export async function launchChromium() {
  return chromium.launch({
    executablePath: chromiumBinary(),
    headless: true,
    args: CHROMIUM_ARGS,
    // Playwright turns Chromium's popup blocker off by default; a person's browser has it on,
    // and the helper must open its popup within the click to get past it.
    ignoreDefaultArgs: ["--disable-popup-blocking"],
    timeout: 30_000,
  });
}

// Runs in every page before its own scripts: reports CSP violations through the console,
// where the context's listener collects them (a CSP that blocks inline scripts does not block
// this: Chromium injects it outside the page's policy).
const REPORT_CSP = `
  document.addEventListener("securitypolicyviolation", (e) => {
    console.error("[csp-violation] " + JSON.stringify({
      page: location.href, directive: e.effectiveDirective, blocked: e.blockedURI,
      source: e.sourceFile, line: e.lineNumber, sample: e.sample,
    }));
  });
`;

/**
 * A fresh browser profile (no cookies, no storage) with its watchers.
 * @param {import("playwright-core").Browser} browser
 * @param {{ keywardOrigin: string, viewport?: { width: number, height: number } }} options
 */
export async function newWatchedContext(browser, { keywardOrigin, viewport = { width: 1000, height: 800 } }) {
  const context = await browser.newContext({ viewport });
  context.setDefaultTimeout(15_000);
  await context.addInitScript(REPORT_CSP);

  /** Everything a person would see as a browser complaint, from any page or popup. */
  const problems = /** @type {string[]} */ ([]);
  /** Every HTML document and JSON answer Keyward sent: { url, body }. */
  const keywardResponses = /** @type {{ url: string, status: number, body: string }[]} */ ([]);
  const pendingBodies = /** @type {Promise<void>[]} */ ([]);

  context.on("console", (msg) => {
    const text = msg.text();
    if (text.startsWith("[csp-violation]") || /Content Security Policy/i.test(text)) {
      problems.push(`CSP: ${text} (on ${msg.page()?.url()})`);
    }
  });
  context.on("weberror", (error) => problems.push(`uncaught: ${error.error().message} (on ${error.page()?.url()})`));
  context.on("response", (response) => {
    if (!response.url().startsWith(keywardOrigin + "/")) return;
    const type = response.headers()["content-type"] ?? "";
    if (!/text\/html|json/.test(type)) return;
    pendingBodies.push(
      response.text().then(
        (body) => void keywardResponses.push({ url: response.url(), status: response.status(), body }),
        () => {}, // redirects and bodies of pages already gone have nothing to read
      ),
    );
  });

  return {
    context,
    problems,
    /** Keyward's responses seen so far (waits for bodies still being read). */
    async keywardResponses() {
      await Promise.all(pendingBodies);
      return keywardResponses;
    },
  };
}
