// The test app's web server (node:http): serves app/index.html with Keyward's address inlined
// and the esbuild bundle of app/app.js, and app/plain.html (the README's no-bundler page). Started on origins other than Keyward's, as a real app
// would be. The same server also plays "another site" that forges authorization responses.
import { readFileSync } from "node:fs";
import { createServer } from "node:http";
import { join } from "node:path";

import { buildAppBundle } from "./app-bundle.js";
import { suiteDir } from "./paths.js";

const FORGE_PAGE = `<!doctype html>
<meta charset="utf-8"><title>Another site</title>
<p>Another site, framed by the app, forging an authorization response.</p>
<script>
  // Posts what an attacker would want the app to accept: a Keyward-shaped response with the
  // right state and issuer, from the wrong window and origin.
  const q = new URLSearchParams(location.search);
  const response = { code: "forged-code", state: q.get("state"), iss: q.get("iss") };
  parent.postMessage({ type: "authorization_response", response }, "*");
  parent.postMessage({ type: "authorization_response", response: { error: "access_denied", state: q.get("state"), iss: q.get("iss") } }, "*");
  document.body.dataset.sent = "true";
</script>`;

/**
 * @param {{ host: "127.0.0.1" | "localhost", port: number, issuer: string }} options
 */
export async function startAppServer({ host, port, issuer }) {
  const bundle = await buildAppBundle();
  const template = readFileSync(join(suiteDir, "app/index.html"), "utf8");
  const config = JSON.stringify({ issuer }).replace(/</g, "\\u003c");
  const plain = readFileSync(join(suiteDir, "app/plain.html"), "utf8").replaceAll("__ISSUER__", issuer);
  const index = template.replace("<!--CONFIG-->", `<script type="application/json" id="config">${config}</script>`);

  const server = createServer((req, res) => {
    const path = new URL(req.url ?? "/", "http://app").pathname;
    const send = (type, body) => {
      res.writeHead(200, { "content-type": type, "cache-control": "no-store" });
      res.end(body);
    };
    if (path === "/" || path === "/index.html") return send("text/html; charset=utf-8", index);
    if (path === "/plain.html") return send("text/html; charset=utf-8", plain);
    if (path === "/app.js") return send("text/javascript; charset=utf-8", bundle);
    if (path === "/forge.html") return send("text/html; charset=utf-8", FORGE_PAGE);
    res.writeHead(404, { "content-type": "text/plain" });
    res.end("not found");
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", resolve);
  });
  return {
    origin: `http://${host}:${port}`,
    stop: () =>
      new Promise((resolve) => {
        server.close(resolve);
        server.closeAllConnections(); // keep-alive connections from Chromium would hold close() open
      }),
  };
}
