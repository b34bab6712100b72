// Renders $...$ maths in every `.math` element of a server-rendered page with KaTeX (loaded before this, deferred).
(function () {
  "use strict";
  function render() {
    if (!window.renderMathInElement) return;
    document.querySelectorAll(".math").forEach(function (el) {
      // Untrusted text: no \href/\htmlClass etc. (trust: false), bounded expansion and sizes (docs/security.md).
      window.renderMathInElement(el, {
        delimiters: [{ left: "$", right: "$", display: false }],
        throwOnError: false,
        trust: false,
        maxExpand: 200,
        maxSize: 10,
      });
    });
  }
  if (document.readyState === "loading") window.addEventListener("DOMContentLoaded", render);
  else render();
})();
