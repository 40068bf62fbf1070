// Module hooks that serve keyward.js at http URLs, so tests can import it the way a page imports
// a Keyward server's /sdk.js and check what it derives from import.meta.url.
import { readFile } from "node:fs/promises";

const source = new URL("../keyward.js", import.meta.url);

/** @param {string} specifier @param {any} context @param {Function} next */
export async function resolve(specifier, context, next) {
  if (/^https?:\/\//.test(specifier)) return { url: specifier, shortCircuit: true };
  return next(specifier, context);
}

/** @param {string} url @param {any} context @param {Function} next */
export async function load(url, context, next) {
  if (/^https?:\/\//.test(url)) {
    return { format: "module", source: await readFile(source, "utf8"), shortCircuit: true };
  }
  return next(url, context);
}
