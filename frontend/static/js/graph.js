// Concept graph view: Cytoscape draws the prerequisite graph; a search box
// finds concepts by id or name; selecting one (in the graph or the list)
// shows its details. The list duplicates the graph for keyboard and
// screen-reader users, since a canvas is not accessible by itself.
(function () {
  "use strict";

  var section = document.querySelector(".graph-view");
  if (!section || !window.cytoscape) return;

  var detail = document.getElementById("concept-detail");
  var search = document.getElementById("graph-search");
  var status = document.getElementById("graph-search-status");
  var list = document.getElementById("concept-list");
  var byId = {};
  var cy = null;
  var fullLayout = { name: "breadthfirst", directed: true, spacingFactor: 1.1, padding: 10 };
  var wholeButton = document.getElementById("graph-whole");

  function text(tag, value, className) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (className) el.className = className;
    return el;
  }

  function namesOf(ids) {
    return ids.map(function (id) { return byId[id] ? byId[id].name : id; });
  }

  function showDetail(id) {
    var c = byId[id];
    if (!c) return;
    var node = cy.getElementById(id);
    var prereqs = node.incomers("node").map(function (n) { return n.id(); });
    var dependents = node.outgoers("node").map(function (n) { return n.id(); });
    detail.replaceChildren();
    detail.appendChild(text("h3", c.name));
    detail.appendChild(text("p", "Id: " + c.id + (c.standard ? " · Standard: " + c.standard : ""), "muted"));
    if (c.description) detail.appendChild(text("p", c.description));
    var facts = [
      c.problems + " problem" + (c.problems === 1 ? "" : "s"),
      c.passages + " passage" + (c.passages === 1 ? "" : "s"),
    ];
    if (c.difficulty !== null && c.difficulty !== undefined) facts.push("difficulty " + c.difficulty);
    if (typeof c.mastery === "number") facts.unshift("Your mastery: " + Math.round(c.mastery * 100) + "%");
    detail.appendChild(text("p", facts.join(" · ")));
    detail.appendChild(text("p", "Needs: " + (prereqs.length ? namesOf(prereqs).join("; ") : "nothing")));
    detail.appendChild(text("p", "Leads to: " + (dependents.length ? namesOf(dependents).join("; ") : "nothing")));
    cy.elements().removeClass("selected");
    node.addClass("selected");
    focus(node);
  }

  // Show the selected concept with its prerequisites and dependents (two
  // steps each way) laid out on their own; the whole graph of a real
  // curriculum is too wide to read around one concept.
  function focus(node) {
    // Five rows: prerequisites of prerequisites, prerequisites, the concept,
    // what it leads to, and what that leads to.
    var parents = node.incomers("node");
    var children = node.outgoers("node");
    var rows = [parents.incomers("node"), parents, node, children, children.outgoers("node")];
    var placed = {};
    var region = cy.collection();
    var positions = {};
    [2, 1, 3, 0, 4].forEach(function (r) {
      var fresh = rows[r].filter(function (n) { return !placed[n.id()]; });
      fresh.forEach(function (n, i) {
        placed[n.id()] = true;
        positions[n.id()] = { x: (i - (fresh.length - 1) / 2) * 90, y: r * 90 };
      });
      region = region.union(fresh);
    });
    region = region.union(region.edgesWith(region));
    cy.elements().addClass("hidden");
    region.removeClass("hidden faded");
    region.nodes().layout({ name: "preset", positions: positions, fit: true, padding: 40 }).run();
    wholeButton.hidden = false;
  }

  function showWhole() {
    cy.elements().removeClass("hidden selected");
    cy.layout(fullLayout).run();
    wholeButton.hidden = true;
  }

  function applySearch() {
    var q = search.value.trim().toLowerCase();
    cy.elements().removeClass("faded match");
    if (!wholeButton.hidden) showWhole();
    if (!q) { status.textContent = ""; return; }
    var hits = cy.nodes().filter(function (n) {
      var c = byId[n.id()];
      return n.id().toLowerCase().indexOf(q) >= 0 || c.name.toLowerCase().indexOf(q) >= 0;
    });
    status.textContent = hits.length + " concept" + (hits.length === 1 ? "" : "s") + " match";
    if (!hits.length) return;
    cy.elements().addClass("faded");
    hits.removeClass("faded").addClass("match");
    if (hits.length === 1) showDetail(hits[0].id());
    else cy.animate({ fit: { eles: hits, padding: 40 }, duration: 200 });
  }

  // Light grey-green (weak) to dark green (strong); the percentage is always
  // written too, so colour is never the only cue.
  function masteryColour(m) {
    var light = [226, 232, 222], dark = [29, 122, 58];
    var rgb = light.map(function (l, i) { return Math.round(l + (dark[i] - l) * m); });
    return "rgb(" + rgb.join(",") + ")";
  }

  function draw(data) {
    data.concepts.forEach(function (c) { byId[c.id] = c; });
    var elements = data.concepts.map(function (c) {
      var d = { id: c.id, label: c.id };
      if (typeof c.mastery === "number") {
        d.label = c.id + " " + Math.round(c.mastery * 100) + "%";
        d.color = masteryColour(c.mastery);
      }
      return { data: d };
    }).concat(data.edges.map(function (e, i) {
      return { data: { id: "e" + i, source: e.source, target: e.target }, classes: e.group === null ? "and" : "any" };
    }));
    cy = window.cytoscape({
      container: document.getElementById("graph-canvas"),
      elements: elements,
      layout: fullLayout,
      style: [
        { selector: "node", style: { label: "data(label)", "font-size": 9, "background-color": "#1f5fbf", color: "#1d2330", width: 14, height: 14, "text-valign": "bottom" } },
        { selector: "node[color]", style: { "background-color": "data(color)", "border-width": 1, "border-color": "#1d2330" } },
        { selector: "edge", style: { width: 1.2, "line-color": "#9aa3b5", "target-arrow-color": "#9aa3b5", "target-arrow-shape": "triangle", "curve-style": "bezier" } },
        { selector: "edge.any", style: { "line-style": "dashed" } },
        { selector: ".faded", style: { opacity: 0.15 } },
        { selector: ".hidden", style: { display: "none" } },
        { selector: "node.match", style: { "background-color": "#f2a900", width: 20, height: 20 } },
        { selector: "node.selected", style: { "border-width": 3, "border-color": "#1d2330" } },
      ],
    });
    cy.on("tap", "node", function (evt) { showDetail(evt.target.id()); });
    data.concepts.forEach(function (c) {
      var li = document.createElement("li");
      var label = c.name + (typeof c.mastery === "number" ? " (" + Math.round(c.mastery * 100) + "%)" : "");
      var b = text("button", label);
      b.type = "button";
      b.addEventListener("click", function () { showDetail(c.id); });
      li.appendChild(b);
      list.appendChild(li);
    });
    search.addEventListener("input", applySearch);
    wholeButton.addEventListener("click", showWhole);
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
