// Keyward's passkey ceremonies (WebAuthn) for the sign-in, sign-up, consent and account pages.
// Everything else on those pages works without JavaScript. The page hands this script its data
// in <script type="application/json" id="kw-data">: the CSRF token, the pending request id and,
// for sign-up, the registration options. A form with data-step-up="ACTION" (and
// data-step-up-target="ID" where the action is about one passkey or app) asks for the passkey
// before it is sent (approving an app, raising its limits, replacing the key, removing a
// passkey, deleting the account).
"use strict";

(() => {
  const dataElement = document.getElementById("kw-data");
  if (!dataElement) return;
  const data = JSON.parse(dataElement.textContent);
  const errorBox = document.getElementById("kw-error");

  const fromB64url = (s) => {
    const b64 = s.replace(/-/g, "+").replace(/_/g, "/").padEnd(Math.ceil(s.length / 4) * 4, "=");
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  };
  const toB64url = (buffer) => {
    let binary = "";
    for (const byte of new Uint8Array(buffer)) binary += String.fromCharCode(byte);
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const creationOptions = ({ publicKey }) => ({
    publicKey: {
      ...publicKey,
      challenge: fromB64url(publicKey.challenge),
      user: { ...publicKey.user, id: fromB64url(publicKey.user.id) },
      excludeCredentials: (publicKey.excludeCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
    },
  });
  const requestOptions = ({ publicKey }) => ({
    publicKey: {
      ...publicKey,
      challenge: fromB64url(publicKey.challenge),
      allowCredentials: (publicKey.allowCredentials || []).map((c) => ({ ...c, id: fromB64url(c.id) })),
    },
  });

  const registrationJSON = (cred) => ({
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    response: {
      attestationObject: toB64url(cred.response.attestationObject),
      clientDataJSON: toB64url(cred.response.clientDataJSON),
      transports: cred.response.getTransports ? cred.response.getTransports() : undefined,
    },
    extensions: cred.getClientExtensionResults(),
  });
  const assertionJSON = (cred) => ({
    id: cred.id,
    rawId: toB64url(cred.rawId),
    type: cred.type,
    response: {
      authenticatorData: toB64url(cred.response.authenticatorData),
      clientDataJSON: toB64url(cred.response.clientDataJSON),
      signature: toB64url(cred.response.signature),
      userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : null,
    },
    extensions: cred.getClientExtensionResults(),
  });

  // A form's own [data-kw-error] box if it has one, else the page's.
  const errorBoxFor = (scope) => (scope && scope.querySelector("[data-kw-error]")) || errorBox;
  const showError = (message, scope) => {
    const box = errorBoxFor(scope);
    if (!box) return;
    box.textContent = message;
    box.hidden = false;
  };
  const explain = (error) => {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again when you are ready.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This device already has a passkey for this Keyward account.";
    }
    return (error && error.message) || "Something went wrong. Please try again.";
  };

  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": data.csrf },
      body: JSON.stringify(body),
    });
    const json = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(json.message || json.error || "Something went wrong.");
    return json;
  };
  // Only ever navigate within Keyward.
  const go = (path) => {
    if (typeof path === "string" && path.startsWith("/") && !path.startsWith("//")) location.assign(path);
  };

  const busy = async (button, work, scope) => {
    const box = errorBoxFor(scope);
    if (box) box.hidden = true;
    button.disabled = true;
    try {
      await work();
    } catch (error) {
      showError(explain(error), scope);
    } finally {
      button.disabled = false;
    }
  };
  // The step-up: the person's passkey again, bound to one action (and the passkey or app it
  // is about, for the account's actions).
  const stepUp = async (action, target) => {
    const start = await post("/passkey/step-up/start", { action, request: data.request || null, target: target || null });
    const credential = await navigator.credentials.get(requestOptions(start.options));
    return { ceremony: start.ceremony, assertion: assertionJSON(credential) };
  };

  if (!window.PublicKeyCredential) {
    showError("This browser does not support passkeys. Try an up-to-date Chrome, Safari, Firefox or Edge.");
  }

  const signIn = document.getElementById("passkey-signin");
  if (signIn) {
    signIn.addEventListener("click", () => busy(signIn, async () => {
      const start = await post("/passkey/signin/start", { request: data.request || null });
      const credential = await navigator.credentials.get(requestOptions(start.options));
      const done = await post("/passkey/signin/finish", { ceremony: start.ceremony, credential: assertionJSON(credential) });
      go(done.redirect);
    }));
  }

  const create = document.getElementById("passkey-create");
  if (create) {
    create.addEventListener("click", () => busy(create, async () => {
      const credential = await navigator.credentials.create(creationOptions(data.options));
      const done = await post("/passkey/register/finish", { ceremony: data.ceremony, credential: registrationJSON(credential) });
      go(done.redirect);
    }));
  }

  for (const form of document.querySelectorAll("form[data-step-up]")) {
    const button = form.querySelector("button[type=submit]");
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      busy(button, async () => {
        const proof = await stepUp(form.dataset.stepUp, form.dataset.stepUpTarget);
        form.elements.ceremony.value = proof.ceremony;
        form.elements.assertion.value = JSON.stringify(proof.assertion);
        form.submit();
      }, form);
    });
  }

  // Account page: another passkey, after the step-up with one the person already has.
  const add = document.getElementById("passkey-add");
  if (add) {
    const scope = add.closest("[data-passkey-add]");
    const nameInput = scope && scope.querySelector("input[name=name]");
    add.addEventListener("click", () => busy(add, async () => {
      const proof = await stepUp("add_passkey");
      const start = await post("/passkey/add/start", { ...proof, name: nameInput ? nameInput.value : "" });
      const credential = await navigator.credentials.create(creationOptions(start.options));
      const done = await post("/passkey/add/finish", { ceremony: start.ceremony, credential: registrationJSON(credential) });
      go(done.redirect);
    }, scope));
  }
})();
