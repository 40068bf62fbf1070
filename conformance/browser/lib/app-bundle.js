// Bundles app/app.js with the official `openai` package and the keyward helper (sdk/keyward.js,
// the very file Keyward serves at /sdk.js) for the browser, in memory, once per test process.
import { build } from "esbuild";
import { join } from "node:path";

import { sdkModule, suiteDir } from "./paths.js";

/** @type {Promise<string> | undefined} */
let bundle;

/** @returns {Promise<string>} the bundled app.js */
export function buildAppBundle() {
  bundle ??= build({
    entryPoints: [join(suiteDir, "app/app.js")],
    bundle: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    alias: { keyward: sdkModule },
    logLevel: "silent",
  }).then((result) => result.outputFiles[0].text);
  return bundle;
}
