// Signing out: the session cookie is dropped by the server (with the CSRF token), the key
// kept in this browser is forgotten.
"use strict";
(function () {
  const button = document.getElementById("sign-out");
  if (!button) return;
  button.addEventListener("click", async () => {
    const csrf = (document.cookie.split("; ").find((c) => c.startsWith("sunledger-csrf=")) || "").split("=")[1] || "";
    await fetch("/portal/session/end", {method: "POST", headers: {"X-CSRF-Token": csrf}});
    await SunledgerKeys.forget();
    window.location.assign("/portal/");
  });
})();
