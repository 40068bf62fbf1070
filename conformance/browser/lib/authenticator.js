// The person's passkey device: a Chromium virtual authenticator (CDP WebAuthn domain) on every
// page of a browser context, popups included.
//
// A virtual authenticator belongs to one page (CDP target), not to the browser: the sign-in
// popup is a new target and starts with none. So a Device keeps the person's credentials in
// Node (from the credentialAdded/credentialAsserted events, private key and sign count
// included) and puts them into the authenticator of each new page — like a passkey synced
// across the person's windows and browsers. Sign counts must move forward: Keyward, like any
// relying party, may refuse an assertion whose counter went back.

/** Resident keys and user verification on; presence and verification happen without a prompt. */
const AUTHENTICATOR = {
  protocol: "ctap2",
  transport: "internal",
  hasResidentKey: true,
  hasUserVerification: true,
  isUserVerified: true,
  automaticPresenceSimulation: true,
};

export class Device {
  constructor() {
    /** @type {Map<string, any>} credentialId -> CDP WebAuthn.Credential */
    this.credentials = new Map();
    /** @type {WeakMap<import("playwright-core").Page, Promise<void>>} */
    this.attached = new WeakMap();
  }

  /**
   * Gives every page opened in `context` from now on (tabs and popups) this device.
   * @param {import("playwright-core").BrowserContext} context
   */
  watch(context) {
    context.on("page", (page) => {
      this.ready(page).catch(() => {}); // a page closed while attaching (e.g. the popup finished fast)
    });
  }

  /**
   * Resolves once `page` has its authenticator with this device's credentials. Await it before
   * the page asks for a passkey.
   * @param {import("playwright-core").Page} page
   */
  ready(page) {
    let attaching = this.attached.get(page);
    if (!attaching) {
      attaching = this.#attach(page);
      this.attached.set(page, attaching);
    }
    return attaching;
  }

  /** @param {import("playwright-core").Page} page */
  async #attach(page) {
    try {
      await this.#addAuthenticator(page);
    } catch (err) {
      // A popup that answers at once (an OAuth error posted back) may close before the
      // authenticator is in; it never needed one.
      if (!page.isClosed()) throw err;
    }
  }

  /** @param {import("playwright-core").Page} page */
  async #addAuthenticator(page) {
    const cdp = await page.context().newCDPSession(page);
    const remember = ({ credential }) => this.credentials.set(credential.credentialId, credential);
    cdp.on("WebAuthn.credentialAdded", remember);
    cdp.on("WebAuthn.credentialAsserted", remember);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    const { authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", { options: AUTHENTICATOR });
    for (const credential of this.credentials.values()) {
      await cdp.send("WebAuthn.addCredential", { authenticatorId, credential });
    }
  }
}
