// Renders $...$ maths in every `.math` element of a server-rendered page with KaTeX (loaded before this, deferred).
(function () {
  "use strict";
  function render() {
    if (!window.renderMathInElement) return;
    document.querySelectorAll(".math").forEach(function (el) {
      window.renderMathInElement(el, { delimiters: [{ left: "$", right: "$", display: false }], throwOnError: false });
    });
  }
  if (document.readyState === "loading") window.addEventListener("DOMContentLoaded", render);
  else render();
})();
