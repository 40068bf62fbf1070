// The servers a suite runs against: the mock OpenAI upstream, one Keyward (fresh temporary data
// dir, so every test file starts with nobody signed up), and the test app on other origins.
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { keywardBinary, mockUpstreamBinary } from "./paths.js";
import { startProcess } from "./processes.js";

/** A free TCP port on 127.0.0.1 (Keyward needs its port before it starts: it is in the public URL). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = /** @type {import("node:net").AddressInfo} */ (server.address());
      server.close(() => resolve(port));
    });
  });
}

/**
 * Polls `url` until it answers 2xx, the process exits, or `timeoutMs` passes.
 * @param {string} url
 * @param {ReturnType<typeof startProcess>} proc
 * @param {string} what
 */
async function waitUntilUp(url, proc, what, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  proc.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) throw new Error(`${what} exited while starting:\n${proc.output()}\n(log: ${proc.logPath})`);
    try {
      const res = await fetch(url);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${what} did not answer ${url} within ${timeoutMs} ms (log: ${proc.logPath})`);
}

/** Environment for children without any KEYWARD_* the developer's shell may have set. */
function cleanEnv(extra = {}) {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith("KEYWARD_")) delete env[name];
  return { ...env, RUST_LOG: process.env.RUST_LOG ?? "info", NO_COLOR: "1", ...extra };
}

/**
 * The mock OpenAI API, with its HTTP control surface.
 * @param {string} name log name prefix
 */
export async function startMock(name) {
  const port = await freePort();
  const proc = startProcess(mockUpstreamBinary(), ["--port", String(port)], {
    logName: `${name}-mock-upstream`,
    env: cleanEnv(),
  });
  const origin = `http://127.0.0.1:${port}`;
  await waitUntilUp(`${origin}/__mock/behaviour`, proc, "mock-upstream");
  /** @param {string} path @param {RequestInit} [init] */
  const control = async (path, init) => {
    const res = await fetch(`${origin}/__mock/${path}`, init);
    if (!res.ok) throw new Error(`mock ${path}: HTTP ${res.status}`);
    return res.status === 204 ? null : res.json();
  };
  return {
    baseURL: `${origin}/v1`,
    /**
     * Replaces the mock's behaviour (missing fields: answer promptly and completely).
     * @param {{ event_delay_ms?: number, chunks?: number, gate_before_last_event?: boolean, first_byte_delay_ms?: number }} behaviour
     */
    setBehaviour: (behaviour) =>
      control("behaviour", { method: "PUT", headers: { "content-type": "application/json" }, body: JSON.stringify(behaviour) }),
    /** Lets a gated stream send its final events. */
    release: () => control("release", { method: "POST" }),
    /** @returns {Promise<Array<{ method: string, path: string, headers?: Record<string,string> }>>} */
    requests: () => control("requests"),
    stop: () => proc.stop(),
  };
}

/**
 * One Keyward instance at http://localhost:PORT (WebAuthn accepts `localhost` over http, not
 * 127.0.0.1), with a temporary data dir and the mock as its upstream.
 * @param {string} name log name prefix
 * @param {string} upstream the mock's /v1 URL
 */
export async function startKeyward(name, upstream) {
  const port = await freePort();
  const dataDir = mkdtempSync(join(tmpdir(), "keyward-browser-"));
  const origin = `http://localhost:${port}`;
  const proc = startProcess(
    keywardBinary(),
    ["serve", "--listen", `127.0.0.1:${port}`, "--public-url", origin, "--data-dir", dataDir, "--upstream", upstream],
    // cwd = the data dir, so a keyward.toml lying around the repository is not picked up.
    { logName: `${name}-keyward`, env: cleanEnv(), cwd: dataDir },
  );
  await waitUntilUp(`http://127.0.0.1:${port}/.well-known/oauth-authorization-server`, proc, "keyward");
  return {
    origin,
    port,
    logPath: proc.logPath,
    async stop() {
      await proc.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
