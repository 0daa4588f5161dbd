// A witness report's four checks (evidence-format §19.2): the PDF is sent as the request
// body to POST /portal/verify, and each check is shown in the page's language, with the
// words the result element carries (templates/_report_check.html).
"use strict";
const SunledgerReportCheck = (function () {
  function element(tag, className, text) {
    const made = document.createElement(tag);
    if (className) made.className = className;
    if (text !== undefined) made.textContent = text;
    return made;
  }

  function show(result, answer) {
    const say = result.dataset;
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

  function failed(result, text) {
    result.className = "result not-genuine";
    result.replaceChildren(element("p", "verdict", result.dataset.failedRequest + text));
  }

  // check the PDF (a File or Blob) and show the outcome in `result`
  async function check(result, pdf) {
    result.hidden = false;
    result.className = "result";
    result.replaceChildren(element("p", "checking", result.dataset.checking));
    try {
      const response = await fetch("/portal/verify", {
        method: "POST", body: pdf, headers: {"Content-Type": "application/pdf"},
      });
      const answer = await response.json();
      if (answer.error) { failed(result, answer.error); return; }
      show(result, answer);
    } catch (error) {
      failed(result, String(error));
    }
  }

  return {check};
})();
