// Coaching reports: sortable heatmap, print button, and charts (Chart.js from npm, vendor/chartjs).
// Data comes from the page's JSON block (#coaching-data); every chart has a text table beside it, and
// series differ by line style and point shape as well as colour.
(function () {
  "use strict";

  function sortable(table) {
    const headers = Array.from(table.querySelectorAll("thead th"));
    headers.forEach(function (th, col) {
      const button = th.querySelector("button.sort");
      if (!button) return;
      button.addEventListener("click", function () {
        const ascending = th.getAttribute("aria-sort") !== "ascending";
        headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
        const numeric = button.dataset.sort === "number";
        const body = table.tBodies[0];
        const rows = Array.from(body.rows).filter(function (r) { return r.cells.length > col; });
        rows.sort(function (a, b) {
          const x = a.cells[col].dataset.value || a.cells[col].textContent.trim();
          const y = b.cells[col].dataset.value || b.cells[col].textContent.trim();
          const d = numeric ? parseFloat(x) - parseFloat(y) : x.localeCompare(y);
          return ascending ? d : -d;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  }

  const DASHES = [[], [6, 4], [2, 3], [10, 3, 2, 3]];
  const POINTS = ["circle", "triangle", "rect", "crossRot", "star"];
  const COLOURS = ["#1f5fbf", "#b3261e", "#1d7a3a", "#7a4b00", "#5b2a86"];

  function charts(data) {
    if (typeof Chart === "undefined" || !data) return;
    const ability = document.getElementById("chart-ability");
    if (ability && data.abilities && data.abilities.length) {
      new Chart(ability, {
        type: "bar",
        data: {
          labels: data.abilities.map(function (a) { return a.name; }),
          datasets: [
            { type: "bar", label: "theta ± SE", data: data.abilities.map(function (a) { return [a.theta - a.se, a.theta + a.se]; }),
              backgroundColor: "rgba(31,95,191,.25)", borderColor: "#1f5fbf", borderWidth: 1 },
            { type: "line", label: "theta", data: data.abilities.map(function (a) { return a.theta; }),
              showLine: false, pointStyle: "crossRot", pointRadius: 8, borderColor: "#1d2330" },
          ],
        },
        options: { indexAxis: "y", scales: { x: { title: { display: true, text: "theta (logits)" } } } },
      });
    }
    const goals = document.getElementById("chart-goals");
    if (goals && data.goals && data.goals.length) {
      new Chart(goals, {
        type: "bar",
        data: {
          labels: data.goals.map(function (g) { return g.concept + " (" + g.scope + ")"; }),
          datasets: [{ label: "% of students who mastered it", data: data.goals.map(function (g) { return g.pct; }),
            backgroundColor: "rgba(29,122,58,.35)", borderColor: "#1d7a3a", borderWidth: 1 }],
        },
        options: { indexAxis: "y", scales: { x: { min: 0, max: 100 } } },
      });
    }
    const activity = document.getElementById("chart-activity");
    if (activity && data.activity) {
      new Chart(activity, {
        type: "line",
        data: {
          labels: data.activity.map(function (d) { return d.day; }),
          datasets: [
            { label: "student messages (solid, circles)", data: data.activity.map(function (d) { return d.messages; }),
              borderColor: COLOURS[0], pointStyle: POINTS[0], borderDash: DASHES[0] },
            { label: "item answers (dashed, triangles)", data: data.activity.map(function (d) { return d.answers; }),
              borderColor: COLOURS[1], pointStyle: POINTS[1], borderDash: DASHES[1] },
          ],
        },
        options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
      });
    }
    const history = document.getElementById("chart-history");
    if (history && data.series && data.series.length) {
      new Chart(history, {
        type: "line",
        data: {
          datasets: data.series.map(function (s, i) {
            return { label: s.concept, data: s.points.map(function (p, k) { return { x: k + 1, y: p.mastery }; }),
              borderColor: COLOURS[i % COLOURS.length], pointStyle: POINTS[i % POINTS.length],
              borderDash: DASHES[i % DASHES.length], pointRadius: 5 };
          }),
        },
        options: { scales: { x: { type: "linear", ticks: { precision: 0, stepSize: 1 }, title: { display: true, text: "evidence # on the concept" } },
          y: { min: 0, max: 1, title: { display: true, text: "mastery" } } } },
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("table.sortable").forEach(sortable);
    document.querySelectorAll("[data-print]").forEach(function (b) {
      b.addEventListener("click", function () { window.print(); });
    });
    const block = document.getElementById("coaching-data");
    charts(block ? JSON.parse(block.textContent) : null);
  });
})();
