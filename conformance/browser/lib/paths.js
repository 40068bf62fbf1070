// Where the suite finds what it drives: the binaries `cargo build --workspace` made, Debian's
// Chromium, the SDK source, and where it leaves screenshots and logs. Nothing here builds or
// installs anything; a missing piece fails the suite with a message saying how to get it.
import { accessSync, constants } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));

/** conformance/browser */
export const suiteDir = resolve(here, "..");
/** The repository root. */
export const repoRoot = resolve(suiteDir, "../..");
/** Screenshots and server logs (git-ignored). */
export const artifactsDir = join(suiteDir, "artifacts");
/** The helper exactly as published and served at /sdk.js. */
export const sdkModule = join(repoRoot, "sdk/keyward.js");

const targetDir = process.env.CARGO_TARGET_DIR ? resolve(process.env.CARGO_TARGET_DIR) : join(repoRoot, "target");

/**
 * @param {string} path
 * @param {string} hint what to do when it is missing
 */
function executable(path, hint) {
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`${path} is missing or not executable. ${hint}`);
  }
  return path;
}

export function keywardBinary() {
  return executable(join(targetDir, "debug/keyward"), "Run `cargo build --workspace` at the repository root first.");
}

export function mockUpstreamBinary() {
  return executable(join(targetDir, "debug/mock-upstream"), "Run `cargo build --workspace` at the repository root first.");
}

/** Debian's Chromium (never a browser downloaded by Playwright); CHROMIUM_PATH overrides. */
export function chromiumBinary() {
  return executable(
    process.env.CHROMIUM_PATH || "/usr/bin/chromium",
    "Install Debian's Chromium: `apt-get install -y chromium` (scripts/test does this), or set CHROMIUM_PATH.",
  );
}
