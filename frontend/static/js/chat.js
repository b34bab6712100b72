// Tutorgraph chat client: one WebSocket per session page.
//
// The server is the source of truth. Every message has a per-session `seq`;
// the log is kept in seq order and a message is drawn once however often it
// arrives. Outgoing messages carry a `client_id` and are resent with the same
// id after a reconnect until the server acks them, so nothing is lost and
// nothing is stored twice. Tutor replies stream in as `delta` events and are
// replaced by the stored `message` when it arrives.
(function () {
  "use strict";

  var app = document.getElementById("chat-app");
  if (!app) return;

  var log = document.getElementById("chat-log");
  var form = document.getElementById("chat-form");
  var input = document.getElementById("chat-input");
  var errorBox = document.getElementById("chat-error");
  var hintButton = document.getElementById("hint-button");
  var connectionBox = document.getElementById("connection");
  var progressText = document.getElementById("progress-text");
  var progressBar = document.getElementById("progress-bar");
  var problemStatus = document.getElementById("problem-status");
  var subproblemCount = parseInt(app.dataset.subproblemCount, 10);

  var socket = null;
  var lastSeq = 0; // highest seq drawn; a reconnect asks for what follows
  var seen = {}; // seq -> true
  var unacked = []; // outgoing events waiting for their ack, in send order
  var streams = {}; // reply_to seq -> <li> being streamed
  var awaiting = {}; // student seq -> {event, timer}: acked, no reply yet
  var replied = {}; // student seq -> true once its reply is shown
  var REPLY_TIMEOUT_MS = 15000;
  var retryDelay = 500;

  function renderMath(el) {
    if (window.renderMathInElement) {
      window.renderMathInElement(el, {
        delimiters: [{ left: "$", right: "$", display: false }],
        throwOnError: false,
        // Tutor and student text is untrusted: no \href/\url/\htmlClass/\includegraphics,
        // and bounded macro expansion and sizes (docs/security.md, LLM05).
        trust: false,
        maxExpand: 200,
        maxSize: 10,
      });
    }
  }

  function newClientId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return Date.now().toString(36) + "-" + Math.random().toString(36).slice(2);
  }

  function makeItem(role, text) {
    var li = document.createElement("li");
    li.className = "msg msg-" + role;
    var who = document.createElement("span");
    who.className = "who";
    who.textContent = role === "tutor" ? "Tutor: " : "You: ";
    var body = document.createElement("span");
    body.className = "body";
    body.textContent = text; // text only: model and student output is never HTML
    li.appendChild(who);
    li.appendChild(body);
    return li;
  }

  function insertBySeq(li, seq) {
    li.dataset.seq = String(seq);
    var items = log.querySelectorAll("li[data-seq]");
    for (var i = 0; i < items.length; i++) {
      if (parseInt(items[i].dataset.seq, 10) > seq) {
        log.insertBefore(li, items[i]);
        return;
      }
    }
    log.appendChild(li);
  }

  function showMessage(ev) {
    // The stored message replaces any streamed copy, even one we had already.
    var streaming = ev.reply_to !== null ? streams[ev.reply_to] : null;
    if (streaming) {
      delete streams[ev.reply_to];
      streaming.remove();
    }
    if (ev.reply_to !== null) replied[ev.reply_to] = true;
    if (ev.reply_to !== null && awaiting[ev.reply_to]) {
      clearTimeout(awaiting[ev.reply_to].timer);
      delete awaiting[ev.reply_to];
    }
    if (seen[ev.seq]) return;
    seen[ev.seq] = true;
    lastSeq = Math.max(lastSeq, ev.seq);
    var li = makeItem(ev.role, ev.text);
    if (ev.record && ev.record.action) li.dataset.action = String(ev.record.action);
    insertBySeq(li, ev.seq);
    renderMath(li);
    if (ev.progress) showProgress(ev.progress);
  }

  function showDelta(ev) {
    // Deltas come live while the model writes. A late one for a reply already
    // stored is dropped; index 0 starts the text afresh (a retried turn, e.g.
    // after its worker died mid-generation, streams again from the start).
    if (replied[ev.reply_to]) return;
    var li = streams[ev.reply_to];
    if (li && ev.index === 0) li.querySelector(".body").textContent = "";
    if (!li) {
      li = makeItem("tutor", "");
      li.classList.add("streaming");
      li.setAttribute("aria-hidden", "true"); // screen readers get the final message once
      streams[ev.reply_to] = li;
      log.appendChild(li);
    }
    li.querySelector(".body").textContent += ev.text;
  }

  function showProgress(p) {
    var step = p.done ? p.of : p.subproblem;
    progressBar.value = step;
    progressText.textContent = p.done
      ? "All " + p.of + " steps done"
      : "Step " + (p.subproblem + 1) + " of " + p.of;
    if (p.done) {
      problemStatus.textContent = "Problem done";
      problemStatus.classList.add("done");
      if (input) input.disabled = true;
      if (hintButton) hintButton.disabled = true;
    }
  }

  function send(ev) {
    unacked.push(ev);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(ev));
  }

  function onEvent(ev) {
    if (ev.type === "message") {
      showMessage(ev);
    } else if (ev.type === "delta") {
      showDelta(ev);
    } else if (ev.type === "ack") {
      var sent = unacked.filter(function (u) { return u.client_id === ev.client_id; })[0];
      unacked = unacked.filter(function (u) { return u.client_id !== ev.client_id; });
      if (sent && !awaiting[ev.seq] && !replied[ev.seq]) expectReply(ev.seq, sent);
    } else if (ev.type === "error") {
      if (ev.client_id) unacked = unacked.filter(function (u) { return u.client_id !== ev.client_id; });
      if (errorBox) errorBox.textContent = ev.detail;
    }
  }

  // The stored reply is the truth; if it does not arrive, re-sync: the resend
  // (same client_id) makes the server retry a lost turn, and the reconnect
  // replays whatever was stored meanwhile.
  function expectReply(seq, event) {
    awaiting[seq] = {
      event: event,
      timer: setTimeout(function () {
        if (!awaiting[seq]) return;
        delete awaiting[seq];
        unacked.push(event);
        if (socket) socket.close();
      }, REPLY_TIMEOUT_MS),
    };
  }

  function connect() {
    var scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + app.dataset.wsPath + "?last_seq=" + lastSeq);
    socket.onopen = function () {
      retryDelay = 500;
      connectionBox.textContent = "Connected";
      unacked.forEach(function (ev) { socket.send(JSON.stringify(ev)); });
    };
    socket.onmessage = function (msg) {
      var ev;
      try { ev = JSON.parse(msg.data); } catch (e) { return; }
      onEvent(ev);
    };
    socket.onclose = function (e) {
      if (e.code === 4401 || e.code === 4403) {
        connectionBox.textContent = "You cannot open this session.";
        return;
      }
      connectionBox.textContent = "Reconnecting…";
      setTimeout(connect, retryDelay);
      retryDelay = Math.min(retryDelay * 2, 8000);
    };
  }

  if (form) {
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      var text = input.value.trim();
      if (!text) return;
      if (errorBox) errorBox.textContent = "";
      send({ type: "student_message", client_id: newClientId(), text: text });
      input.value = "";
      input.focus();
    });
    input.addEventListener("keydown", function (e) {
      if (e.key === "Enter" && !e.shiftKey) {
        e.preventDefault();
        form.requestSubmit();
      }
    });
    hintButton.addEventListener("click", function () {
      if (errorBox) errorBox.textContent = "";
      send({ type: "hint_request", client_id: newClientId() });
    });
  }

  function renderStatic() {
    document.querySelectorAll(".math").forEach(renderMath);
  }
  if (document.readyState === "loading") window.addEventListener("DOMContentLoaded", renderStatic);
  else renderStatic();
  if (!isNaN(subproblemCount)) connect();
})();
