// The sign-in page: import the key, sign the server's challenge, receive the session cookie.
"use strict";
(function () {
  const form = document.getElementById("sign-in");
  const status = document.getElementById("status");
  const say = status.dataset;

  function tell(text, bad) {
    status.hidden = false;
    status.textContent = text;
    status.className = "status " + (bad ? "bad" : "");
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const actor = form.actor.value.trim();
    const file = form.keyfile.files[0];
    if (!actor || !file) { tell(say.needBoth, true); return; }
    tell(say.working, false);
    try {
      const {key, keyId} = await SunledgerKeys.importKeyFile(await file.text());
      const asked = await (await fetch("/portal/session/challenge", {method: "POST"})).json();
      const message = new TextEncoder().encode(
        "sunledger portal sign-in v1\n" + asked.origin + "\n" + asked.challenge);
      const signature = await SunledgerKeys.sign(key, message);
      const answer = await fetch("/portal/session", {
        method: "POST", headers: {"Content-Type": "application/json"},
        body: JSON.stringify({actor, key_id: keyId, challenge: asked.challenge, signature}),
      });
      const body = await answer.json();
      if (!answer.ok) { tell(say.refused + body.detail, true); return; }
      await SunledgerKeys.keep({actor, keyId, key});
      window.location.assign(form.dataset.next || "/portal/me");
    } catch (error) {
      tell(say.refused + error.message, true);
    }
  });
})();
