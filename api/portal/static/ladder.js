// A listed lot's ladder followed live (api/portal/listing.py; the answer is pages.lot_answer):
// while bidding goes on the section is asked for every 1.5 s and put in place when its mark
// changes (a new quote, a restarted countdown, the close, the round's end), without a reload;
// each ask names the mark shown, and the answer carries the section only when it differs.
// What counts down ticks against the server's instant: each answer's now_ms, carried forward
// by the browser's monotonic clock (performance.now), never by the browser's wall clock,
// which may be wrong.
"use strict";
(function () {
  const section = document.getElementById("ladder");
  if (!section) return;
  const content = document.getElementById("ladder-live");
  const live = document.getElementById("lot-live");
  const offline = document.getElementById("lot-offline");
  const POLL_MS = 1500, TICK_MS = 250;
  let mark = section.dataset.mark;
  // the server's instant `server` was the browser's monotonic instant `at`
  let base = {server: Number(section.dataset.nowMs), at: performance.now()};
  const serverNow = () => base.server + (performance.now() - base.at);

  const two = (n) => String(n).padStart(2, "0");

  // the time left as a countdown reads: 04:59, 01:02:03, 3 天 04:05:06
  function timeLeft(ms) {
    const s = Math.max(0, Math.ceil(ms / 1000));
    const days = Math.floor(s / 86400), hours = Math.floor(s % 86400 / 3600);
    const clock = (days || hours ? two(hours) + ":" : "") + two(Math.floor(s % 3600 / 60)) + ":" + two(s % 60);
    return days ? days + " " + section.dataset.days + " " + clock : clock;
  }

  function tick() {
    const clock = content.querySelector(".lot-clock");
    if (!clock) return;
    const left = Number(clock.dataset.endsMs) - serverNow();
    clock.querySelector(".left").textContent = timeLeft(left);
    clock.classList.toggle("ran-out", left <= 0);
    const note = clock.querySelector(".ran-out-note");
    if (note) note.hidden = left > 0;
  }

  // the new section in place of the old, the quotes that came since marked, the countdown
  // history folded as the reader left it
  function replace(html) {
    const history = content.querySelector("details.lot-countdowns");
    const seen = content.querySelectorAll("table.lot-quotes tbody tr").length;
    content.innerHTML = html;
    const again = content.querySelector("details.lot-countdowns");
    if (history && again) again.open = history.open;
    const rows = content.querySelectorAll("table.lot-quotes tbody tr");
    for (let i = seen; i < rows.length; i++) rows[i].classList.add("new");
    for (const box of content.querySelectorAll(".lot-quotes-box")) box.scrollTop = box.scrollHeight;
  }

  function showStage(lot) {
    const badge = document.getElementById("stage-now");
    if (!badge) return;
    badge.textContent = lot.stage_name;
    badge.className = "stage stage-" + lot.stage;
  }

  async function poll() {
    const sent = performance.now();
    try {
      // the mark of the section shown: the answer leaves the section out while it is the same
      const asked = new URL(section.dataset.poll, location.href);
      asked.searchParams.set("mark", mark);
      const response = await fetch(asked, {cache: "no-store", headers: {Accept: "application/json"}});
      const received = performance.now();
      if (!response.ok) throw new Error(String(response.status));
      const lot = await response.json();
      base = {server: lot.now_ms, at: (sent + received) / 2};
      if (lot.mark !== mark) {
        mark = lot.mark;
        replace(lot.html);
        showStage(lot);
      }
      tick();
      offline.hidden = true;
      live.hidden = !lot.bidding;
      if (lot.bidding) setTimeout(poll, POLL_MS);
    } catch (error) {
      live.hidden = true;
      offline.hidden = false;
      setTimeout(poll, 2 * POLL_MS);
    }
  }

  for (const box of content.querySelectorAll(".lot-quotes-box")) box.scrollTop = box.scrollHeight;
  tick();
  setInterval(tick, TICK_MS);
  poll();
})();
