// The dispute replay: the arrow keys step back (←) and forth (→) along the links the page
// has for it, and the list of all steps opens scrolled to the step shown. The page works
// without this script: every step is a plain link.
"use strict";
(function () {
  const list = document.getElementById("step-list");
  const current = list && list.querySelector("li.current");
  if (current) {  // the step shown in the middle of the list's view (the list only scrolls)
    list.scrollTop = current.offsetTop - (list.clientHeight - current.offsetHeight) / 2;
  }
  const moves = {ArrowLeft: "go-previous", ArrowRight: "go-next"};
  document.addEventListener("keydown", (event) => {
    if (event.altKey || event.ctrlKey || event.metaKey || event.shiftKey || !moves[event.key]) return;
    const target = event.target;
    if (target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName))) return;
    const link = document.getElementById(moves[event.key]);
    if (link) {
      event.preventDefault();
      window.location.assign(link.href);
    }
  });
  const hint = document.getElementById("keys-hint");
  if (hint) hint.hidden = false;
})();
