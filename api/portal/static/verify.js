// The public's check of a witness report: dropped on the page or chosen, then checked
// (report_check.js).
"use strict";
(function () {
  const drop = document.getElementById("drop");
  const input = document.getElementById("file");
  const result = document.getElementById("result");
  const check = (file) => SunledgerReportCheck.check(result, file);

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
