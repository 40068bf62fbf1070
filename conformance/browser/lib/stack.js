// One test file's world: the mock upstream, a fresh Keyward, the test app on two origins other
// than Keyward's (127.0.0.1 and localhost, other ports), a third site for forged messages, and
// Chromium. `startStack()` in before(), `stack.stop()` in after(); processes also die with the
// test process (lib/processes.js).
import { startAppServer } from "./app-server.js";
import { launchChromium } from "./browser.js";
import { freePort, startKeyward, startMock } from "./servers.js";

/** @param {string} name prefix of the log files in artifacts/ */
export async function startStack(name) {
  const stoppers = [];
  const stop = async () => {
    for (const s of stoppers.reverse()) await s().catch(() => {});
  };
  try {
    const mock = await startMock(name);
    stoppers.push(mock.stop);
    const keyward = await startKeyward(name, mock.baseURL);
    stoppers.push(keyward.stop);
    const issuer = keyward.origin;
    const appA = await startAppServer({ host: "127.0.0.1", port: await freePort(), issuer });
    stoppers.push(appA.stop);
    const appB = await startAppServer({ host: "localhost", port: await freePort(), issuer });
    stoppers.push(appB.stop);
    const otherSite = await startAppServer({ host: "127.0.0.1", port: await freePort(), issuer });
    stoppers.push(otherSite.stop);
    const browser = await launchChromium();
    stoppers.push(() => browser.close());
    return { mock, keyward, appA, appB, otherSite, browser, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
