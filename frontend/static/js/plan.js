// The learning plan on the concept graph, and the "what next" link of a
// finished session. No inline scripts (a CSP is coming): everything is wired
// here from data-* attributes the server renders.
//
// Plan page: Cytoscape draws the plan's steps (numbered, boxed), the concept
// to work on now (a star), goals (diamonds) and the mastered concepts the
// path starts from (a tick), with mastery as colour *and* text. By default
// only the plan's neighbourhood is shown; a button shows the whole graph.
// Selecting a concept shows its details; on the student's own plan it can
// be made a goal with one click, which submits the page's goal form.
//
// Session page: when the problem ends while the page is open, the hidden
// next-step block is revealed (the agent loop has chosen the next problem by
// then; the block links to the plan, which shows it).
(function () {
  "use strict";

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  // --- Session page: reveal "what next" when the problem is done ----------
  var nextBlock = document.getElementById("next-step-after-session");
  var problemStatus = document.getElementById("problem-status");
  if (nextBlock && problemStatus) {
    var reveal = function () {
      if (problemStatus.classList.contains("done") || /done/i.test(problemStatus.textContent)) {
        nextBlock.hidden = false;
        return true;
      }
      return false;
    };
    if (!reveal()) {
      var watcher = new MutationObserver(function () { if (reveal()) watcher.disconnect(); });
      watcher.observe(problemStatus, { attributes: true, childList: true, characterData: true, subtree: true });
    }
  }

  // --- Plan page ------------------------------------------------------------
  var section = document.querySelector(".plan-graph");
  if (!section || !window.cytoscape) return;

  var detail = document.getElementById("plan-concept-detail");
  var toggle = document.getElementById("plan-graph-toggle");
  var goalForm = section.dataset.goalForm ? document.getElementById(section.dataset.goalForm) : null;
  var byId = {};
  var cy = null;
  var whole = false;

  var STATUS = { mastered: "mastered", current: "work on it now", todo: "to do" };
  var SHAPE = { mastered: "ellipse", current: "star", todo: "round-rectangle" };

  // Light grey-green (weak) to dark green (strong), as on the progress page.
  function masteryColour(m) {
    var light = [226, 232, 222], dark = [29, 122, 58];
    var rgb = light.map(function (l, i) { return Math.round(l + (dark[i] - l) * m); });
    return "rgb(" + rgb.join(",") + ")";
  }

  function label(c) {
    var parts = [];
    if (c.step) parts.push(c.step + ".");
    if (c.plan === "mastered") parts.push("✓");
    if (c.plan === "current") parts.push("▶");
    parts.push(c.id);
    parts.push(Math.round(c.mastery * 100) + "%");
    if (c.goal) parts.push("(goal)");
    return parts.join(" ");
  }

  function showDetail(id) {
    var c = byId[id];
    if (!c) return;
    detail.replaceChildren();
    detail.appendChild(text("h3", c.name));
    var facts = ["Your mastery: " + Math.round(c.mastery * 100) + "%"];
    if (c.step) facts.push("step " + c.step + " of the plan");
    if (c.plan) facts.push(STATUS[c.plan]);
    if (c.goal) facts.push("a goal");
    detail.appendChild(text("p", facts.join(" · ")));
    if (c.description) detail.appendChild(text("p", c.description, "muted"));
    if (c.reason) detail.appendChild(text("p", "Why: " + c.reason));
    detail.appendChild(text("p", c.problems + " problem" + (c.problems === 1 ? "" : "s"), "muted"));
    if (goalForm && !c.goal) {
      var button = text("button", "Make “" + c.name + "” a goal");
      button.type = "button";
      button.addEventListener("click", function () {
        var select = goalForm.querySelector("select[name=concept]");
        select.value = c.id;
        goalForm.requestSubmit();
      });
      detail.appendChild(button);
    }
    cy.elements().removeClass("selected");
    cy.getElementById(id).addClass("selected");
  }

  // The plan's neighbourhood: its steps, goals, the mastered concepts it starts from, and their edges.
  function planRegion() {
    var nodes = cy.nodes().filter(function (n) {
      var c = byId[n.id()];
      return c.step || c.goal || c.plan;
    });
    return nodes.union(nodes.edgesWith(nodes));
  }

  function layout() {
    var region = whole ? cy.elements() : planRegion();
    if (!whole && region.nodes().length === 0) region = cy.elements();
    cy.elements().addClass("hidden");
    region.removeClass("hidden");
    region.layout({ name: "breadthfirst", directed: true, spacingFactor: 1.1, padding: 20 }).run();
    cy.fit(region, 20);
    toggle.textContent = whole ? "Show only the plan" : "Show the whole graph";
  }

  function draw(data) {
    data.concepts.forEach(function (c) { byId[c.id] = c; });
    var elements = data.concepts.map(function (c) {
      return {
        data: { id: c.id, label: label(c), color: masteryColour(c.mastery) },
        classes: [c.plan || "off", c.goal ? "goal" : "", c.step ? "step" : ""].join(" ").trim(),
      };
    }).concat(data.edges.map(function (e, i) {
      var onPlan = byId[e.source] && byId[e.target] && byId[e.source].step && byId[e.target].step;
      return {
        data: { id: "e" + i, source: e.source, target: e.target },
        classes: (e.group === null ? "and" : "any") + (onPlan ? " path" : ""),
      };
    }));
    cy = window.cytoscape({
      container: document.getElementById("plan-graph-canvas"),
      elements: elements,
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "background-color": "data(color)", color: "#1d2330", width: 16, height: 16, "text-valign": "bottom", "border-width": 1, "border-color": "#1d2330", shape: "ellipse" } },
        { selector: "node.off", style: { opacity: 0.55 } },
        { selector: "node.todo", style: { shape: SHAPE.todo, width: 22, height: 18, "border-width": 2, "border-color": "#1f5fbf" } },
        { selector: "node.current", style: { shape: SHAPE.current, width: 30, height: 30, "border-width": 3, "border-color": "#f2a900" } },
        { selector: "node.goal", style: { shape: "diamond", width: 26, height: 26, "border-width": 3 } },
        { selector: "node.goal.current", style: { shape: SHAPE.current } },
        { selector: "edge", style: { width: 1.2, "line-color": "#9aa3b5", "target-arrow-color": "#9aa3b5", "target-arrow-shape": "triangle", "curve-style": "bezier" } },
        { selector: "edge.any", style: { "line-style": "dashed" } },
        { selector: "edge.path", style: { width: 3, "line-color": "#1f5fbf", "target-arrow-color": "#1f5fbf" } },
        { selector: ".hidden", style: { display: "none" } },
        { selector: "node.selected", style: { "border-width": 4, "border-color": "#1d2330" } },
      ],
    });
    cy.on("tap", "node", function (evt) { showDetail(evt.target.id()); });
    toggle.addEventListener("click", function () { whole = !whole; layout(); });
    layout();
    section.dataset.ready = "true";
  }

  fetch(section.dataset.graphUrl, { credentials: "same-origin" })
    .then(function (r) {
      if (!r.ok) throw new Error("the graph could not be loaded (HTTP " + r.status + ")");
      return r.json();
    })
    .then(draw)
    .catch(function (err) { detail.textContent = err.message; });
})();
