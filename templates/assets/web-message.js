// Hands an authorization response back to the app that opened this popup
// (response_mode=web_message), then closes the popup. The target origin is the app's redirect
// URI's exact origin, chosen by the server: the message can reach no other site.
"use strict";

(() => {
  const { targetOrigin, message } = JSON.parse(document.getElementById("kw-response").textContent);
  if (window.opener && !window.opener.closed) {
    window.opener.postMessage(message, targetOrigin);
    window.close();
  } else {
    document.getElementById("sending").hidden = true;
    document.getElementById("no-opener").hidden = false;
  }
})();
