// Checking a witness report: the PDF is sent as the request body to POST /portal/verify,
// and the four checks of evidence-format §19.2 are shown in the page's language.
"use strict";
(function () {
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  const result = document.getElementById("result");
  const say = result.dataset;

  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function show(answer) {
    result.replaceChildren();
    result.className = "result " + (answer.genuine ? "genuine" : "not-genuine");
    result.append(element("p", "verdict", answer.genuine ? say.genuine : say.notGenuine));
    const facts = element("p", "meta");
    facts.textContent = [
      answer.report ? say.reportId + " " + answer.report : "",
      answer.project ? say.project + " " + answer.project : "",
      answer.events ? say.events + " " + answer.events : "",
    ].filter(Boolean).join(" · ");
    result.append(facts);
    const list = element("ol", "checks");
    for (const step of answer.steps) {
      const item = element("li", "check " + step.result);
      const key = "step" + step.step.charAt(0).toUpperCase() + step.step.slice(1);
      item.append(element("span", "what", say[key]));
      item.append(element("span", "outcome", say[step.result]));
      list.append(item);
    }
    result.append(list);
    const details = element("details");
    details.append(element("summary", "", say.details));
    const lines = element("ul", "lines");
    for (const line of answer.holds) lines.append(element("li", "holds", "✓ " + line));
    for (const line of answer.fails) lines.append(element("li", "fails", "✗ " + line));
    for (const line of answer.unchecked) lines.append(element("li", "unchecked", "? " + line));
    lines.append(element("li", "", "SHA-256 " + answer.sha256));
    details.append(lines);
    result.append(details);
  }

  async function check(file) {
    result.hidden = false;
    result.className = "result";
    result.replaceChildren(element("p", "checking", say.checking));
    try {
      const response = await fetch("/portal/verify", {
        method: "POST", body: file, headers: {"Content-Type": "application/pdf"},
      });
      const answer = await response.json();
      if (answer.error) {
        result.className = "result not-genuine";
        result.replaceChildren(element("p", "verdict", say.failedRequest + answer.error));
        return;
      }
      show(answer);
    } catch (error) {
      result.className = "result not-genuine";
      result.replaceChildren(element("p", "verdict", say.failedRequest + error));
    }
  }

  input.addEventListener("change", () => { if (input.files.length) check(input.files[0]); });
  drop.addEventListener("dragover", (event) => { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer.files.length) check(event.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); input.click(); }
  });
})();
