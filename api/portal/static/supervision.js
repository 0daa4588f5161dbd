// The supervision body's log page: "verify now" starts a verification of the whole log on
// the server (with the portal's CSRF token), then the page shows it running, asking the
// server how it goes every second, and reloads when it has ended to show the run recorded.
"use strict";
(function () {
  const panel = document.getElementById("verify-panel");
  if (!panel) return;
  const button = document.getElementById("verify-now");
  const status = document.getElementById("verify-status");
  const words = panel.dataset;

  function csrfToken() {
    const cookie = document.cookie.split("; ").find((c) => c.startsWith("sunledger-csrf="));
    return cookie ? cookie.split("=")[1] : "";
  }

  function running(job) {
    button.disabled = true;
    status.hidden = false;
    status.classList.remove("bad");
    status.textContent = job === undefined ? words.wordRunning
      : `${words.wordRunning} ${Math.round(job.seconds)} ${words.wordSeconds} · ` +
        `${words.wordAbout} ${job.events} ${words.wordEvents}`;
  }

  function refused(detail) {
    button.disabled = false;
    status.hidden = false;
    status.classList.add("bad");
    status.textContent = words.wordRefused + detail;
  }

  async function follow() {
    try {
      const answer = await fetch("/portal/supervision/verify", {headers: {Accept: "application/json"},
                                                               cache: "no-store"});
      const progress = await answer.json();
      if (answer.ok && progress.running) {
        running(progress.job);
        window.setTimeout(follow, 1000);
        return;
      }
    } catch (error) {
      window.setTimeout(follow, 2000);  // the server is busy or restarting: ask again
      return;
    }
    window.location.reload();  // ended: the page shows the run recorded
  }

  button.addEventListener("click", async () => {
    running();
    try {
      const answer = await fetch("/portal/supervision/verify", {
        method: "POST", headers: {"X-CSRF-Token": csrfToken(), Accept: "application/json"}});
      const body = await answer.json();
      if (!answer.ok) {
        refused(body.detail || answer.status);
        return;
      }
    } catch (error) {
      refused(String(error));
      return;
    }
    follow();
  });

  if (panel.dataset.running === "true") follow();
})();
