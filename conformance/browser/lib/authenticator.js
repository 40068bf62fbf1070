// The person's passkey device: a Chromium virtual authenticator (CDP WebAuthn domain) on every
// page of a browser context, popups included.
//
// A virtual authenticator belongs to one page (CDP target), not to the browser: the sign-in
// popup is a new target and starts with none. So a Device keeps the person's credentials in
// Node (from the credentialAdded/credentialAsserted events, private key and sign count
// included) and puts them into the authenticator of each new page — like a passkey synced
// across the person's windows and browsers. Sign counts must move forward: Keyward, like any
// relying party, refuses an assertion whose counter went back. So a passkey used on one page
// is synced, with its new count, into the authenticators of the pages still open.
//
// A person's *other* device (a phone, a security key, a second password manager) is another
// Device that watches no context: `handOver()` puts it on one page in place of this one, as the
// browser's "use another device" would. (Two virtual authenticators on one page do not work:
// the one without the credential answers a passkey request first, with "not allowed".)

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
    /** @type {WeakMap<import("playwright-core").Page, Promise<Attachment | undefined>>} */
    this.attached = new WeakMap();
    /** The authenticators of this device on open pages. @type {Set<Attachment>} */
    this.live = new Set();
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

  /**
   * Takes this device off `page` and puts `other` on it instead; passkey requests and
   * creations on the page from then on go to `other`. Hand back with `other.handOver(page, this)`.
   * @param {import("playwright-core").Page} page
   * @param {Device} other
   */
  async handOver(page, other) {
    const mine = await this.attached.get(page);
    this.attached.delete(page);
    if (mine) {
      this.live.delete(mine);
      await mine.cdp.send("WebAuthn.removeVirtualAuthenticator", { authenticatorId: mine.authenticatorId });
      await mine.cdp.detach();
    }
    await other.ready(page);
  }

  /** @param {import("playwright-core").Page} page */
  async #attach(page) {
    try {
      return await this.#addAuthenticator(page);
    } catch (err) {
      // A popup that answers at once (an OAuth error posted back) may close before the
      // authenticator is in; it never needed one.
      if (!page.isClosed()) throw err;
      return undefined;
    }
  }

  /** @param {import("playwright-core").Page} page */
  async #addAuthenticator(page) {
    const cdp = await page.context().newCDPSession(page);
    /** @type {Attachment} */
    const attachment = { page, cdp, authenticatorId: "" };
    // Events name their authenticator: with a device handed over, only this one's count.
    const remember = (event) => {
      if (event.authenticatorId !== attachment.authenticatorId) return;
      this.credentials.set(event.credential.credentialId, event.credential);
      this.#sync(event.credential, attachment);
    };
    cdp.on("WebAuthn.credentialAdded", remember);
    cdp.on("WebAuthn.credentialAsserted", remember);
    await cdp.send("WebAuthn.enable", { enableUI: false });
    ({ authenticatorId: attachment.authenticatorId } = await cdp.send("WebAuthn.addVirtualAuthenticator", {
      options: AUTHENTICATOR,
    }));
    for (const credential of this.credentials.values()) {
      await cdp.send("WebAuthn.addCredential", { authenticatorId: attachment.authenticatorId, credential });
    }
    this.live.add(attachment);
    page.once("close", () => this.live.delete(attachment));
    return attachment;
  }

  /**
   * Puts `credential` (new, or with its new sign count) into this device's authenticators on
   * the other open pages.
   * @param {any} credential
   * @param {Attachment} from
   */
  #sync(credential, from) {
    for (const { page, cdp, authenticatorId } of this.live) {
      if (authenticatorId === from.authenticatorId || page.isClosed()) continue;
      const { credentialId } = credential;
      cdp
        .send("WebAuthn.removeCredential", { authenticatorId, credentialId })
        .catch(() => {}) // not there yet: a credential just made on another page
        .then(() => cdp.send("WebAuthn.addCredential", { authenticatorId, credential }))
        .catch(() => {}); // the page closed meanwhile
    }
  }
}

/**
 * One page's authenticator of a device.
 * @typedef {{ page: import("playwright-core").Page, cdp: import("playwright-core").CDPSession, authenticatorId: string }} Attachment
 */
