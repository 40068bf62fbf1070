// Child processes of the suite: started with their output in a log file under artifacts/, and
// killed when the test file ends — also when a test throws, the runner times out, or someone
// presses Ctrl-C — so no Keyward or mock is left listening after a failed run.
import { spawn } from "node:child_process";
import { createWriteStream, mkdirSync } from "node:fs";
import { join } from "node:path";

import { artifactsDir } from "./paths.js";

/** @type {Set<import("node:child_process").ChildProcess>} */
const running = new Set();

function killAll() {
  for (const child of running) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  running.clear();
}

// "exit" handlers must be synchronous; kill() is.
process.on("exit", killAll);
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) {
  process.once(signal, () => {
    killAll();
    process.exit(130);
  });
}

/**
 * Starts `command` with stdout and stderr appended to artifacts/<logName>.log.
 * @param {string} command
 * @param {string[]} args
 * @param {{ logName: string, env?: NodeJS.ProcessEnv, cwd?: string }} options
 */
export function startProcess(command, args, { logName, env, cwd }) {
  mkdirSync(artifactsDir, { recursive: true });
  const logPath = join(artifactsDir, `${logName}.log`);
  const log = createWriteStream(logPath, { flags: "w" });
  const child = spawn(command, args, { env, cwd, stdio: ["ignore", "pipe", "pipe"] });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  running.add(child);
  /** @type {string[]} */
  const early = [];
  child.stdout.on("data", (chunk) => early.length < 50 && early.push(String(chunk)));
  child.stderr.on("data", (chunk) => early.length < 50 && early.push(String(chunk)));
  const exited = new Promise((resolve) => {
    child.once("exit", (code, signal) => {
      running.delete(child);
      resolve({ code, signal });
    });
  });
  return {
    child,
    logPath,
    exited,
    /** What the process printed so far (for error messages when it fails to start). */
    output: () => early.join(""),
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
      await exited;
      clearTimeout(timer);
    },
  };
}
