// The witness officer's project page: the timeline followed live (server-sent events), an
// observation recorded and a report signed off, each signed here with the officer's own key
// (signed_actions.js), and a report checked in words (report_check.js).
"use strict";
(function () {
  const status = document.getElementById("signing-status");
  const say = status.dataset;
  const form = document.getElementById("observe");
  const project = form.dataset.project, actor = form.dataset.actor, keyId = form.dataset.keyId;
  const base = "/portal/witness/" + encodeURIComponent(project);

  function tell(text, outcome) {  // outcome: "bad", "good", or nothing while working
    status.hidden = false;
    status.textContent = text;
    status.className = "status" + (outcome ? " " + outcome : "");
  }

  function problem(body) {
    return body.detail || body.title || body.error || JSON.stringify(body);
  }

  // sign and submit one action on the project, saying how it went; true once recorded
  async function record(type, payload) {
    tell(say.signing);
    try {
      const asked = await fetch(base + "/version", {cache: "no-store"});
      const at = await asked.json();
      if (!asked.ok) { tell(say.refused + problem(at), "bad"); return false; }
      const signed = await SunledgerActions.sign(actor, keyId, at.stream, type, payload, at.version);
      const answer = await SunledgerActions.submit(signed);
      if (!answer.ok) { tell(say.refused + problem(answer.body), "bad"); return false; }
      tell(say.recorded + " " + answer.body.receipt.position, "good");
      return true;
    } catch (error) {
      tell(error.code === "wrong-key" ? say.wrongKey : say.refused + error.message, "bad");
      return false;
    }
  }

  // --- an observation: its text, and a recording by its hash (the file stays here)
  const media = document.getElementById("media");
  media.addEventListener("change", () => {
    document.getElementById("media-chosen").textContent =
      media.files.length ? media.files[0].name : document.getElementById("media-chosen").dataset.none;
  });
  document.getElementById("media-chosen").dataset.none = document.getElementById("media-chosen").textContent;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const payload = {note: form.note.value.trim()};
    if (!payload.note) return;
    if (media.files.length) payload.media_hash = await SunledgerActions.sha256(media.files[0]);
    if (await record("project.witness-observation/v1", payload)) {
      form.reset();
      media.dispatchEvent(new Event("change"));
    }
  });

  // --- the reports: checked in words, signed off for the very bytes downloaded
  const result = document.getElementById("report-result");
  for (const row of document.querySelectorAll("table.reports tbody tr")) {
    const download = async () => {
      const response = await fetch(row.dataset.download, {cache: "no-store"});
      if (!response.ok) throw new Error((await response.json()).error || response.status);
      return response.blob();
    };
    row.querySelector(".check-report").addEventListener("click", async () => {
      try {
        await SunledgerReportCheck.check(result, await download());
      } catch (error) {
        tell(say.refused + error.message, "bad");
      }
    });
    const signOff = row.querySelector(".sign-off");
    if (signOff) signOff.addEventListener("click", async () => {
      signOff.disabled = true;
      try {
        const pdfHash = await SunledgerActions.sha256(await download());
        if (pdfHash !== row.dataset.pdfHash) { tell(say.hashDiffers, "bad"); return; }
        if (await record("project.report-signed-off/v1",
                         {report_id: row.dataset.report, pdf_hash: pdfHash})) {
          signOff.replaceWith(Object.assign(document.createElement("span"), {className: "done", textContent: "✓"}));
        }
      } catch (error) {
        tell(say.refused + error.message, "bad");
      } finally {
        signOff.disabled = false;
      }
    });
  }

  // --- the live timeline
  const timeline = document.getElementById("timeline");
  const live = document.getElementById("live");
  const source = new EventSource(timeline.dataset.live + "?seen=" + encodeURIComponent(timeline.dataset.seen));
  source.addEventListener("open", () => { live.hidden = false; });
  source.addEventListener("error", () => { live.hidden = true; });
  source.addEventListener("reload", () => { source.close(); window.location.reload(); });
  source.addEventListener("stage", (message) => {
    const stage = JSON.parse(message.data);
    const badge = document.getElementById("stage-now");
    badge.textContent = stage.name;
    badge.className = "stage stage-" + stage.stage;
  });
  source.addEventListener("row", (message) => {
    const row = JSON.parse(message.data);
    const phases = timeline.querySelectorAll("details.phase");
    let phase = phases[phases.length - 1];
    if (!phase || phase.dataset.phase !== row.phase) {
      phase = document.getElementById("phase-template").content.firstElementChild.cloneNode(true);
      phase.dataset.phase = row.phase;
      phase.querySelector(".name").textContent = row.phase_name;
      timeline.append(phase);
    }
    const body = phase.querySelector("tbody");
    body.insertAdjacentHTML("beforeend", row.html);
    body.lastElementChild.classList.add("new");
    const count = phase.querySelector(".count");
    count.textContent = String(body.children.length);
  });
})();
