// Self-regulated learning: the study timer (with breaks) and the chat page's study panel.
// The panel polls its own JSON endpoint (srl_panel) and posts check-ins with its form;
// it never touches the chat WebSocket.
(function () {
  "use strict";
  const POLL_MS = 4000;
  const BREAK_S = 5 * 60;

  function clock(s) {
    s = Math.max(0, Math.floor(s));
    return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }

  function startTimer(el) {
    let breakUntil = 0;
    const button = document.getElementById("srl-break");
    if (button) {
      button.addEventListener("click", () => {
        breakUntil = Date.now() + BREAK_S * 1000;
        tick();
      });
    }
    function tick() {
      const started = Date.parse(el.dataset.started || "");
      if (Number.isNaN(started)) return;
      if (Date.now() < breakUntil) {
        el.textContent = `On a break: ${clock((breakUntil - Date.now()) / 1000)} left. Stand up, stretch, look away from the screen.`;
        return;
      }
      const planned = Number(el.dataset.planned || 0);
      const used = (Date.now() - started) / 1000;
      let text = `Time: ${clock(used)}`;
      if (planned) text += ` of ${planned}:00 planned`;
      if (planned && used > planned * 60) text += " (past your plan: finish the step, then reflect)";
      el.textContent = text;
    }
    tick();
    setInterval(tick, 1000);
  }

  function panel(root) {
    const form = document.getElementById("srl-checkin");
    const feedback = document.getElementById("srl-feedback");
    const timer = document.getElementById("srl-timer");
    let answered = new Set();
    let checkinUrl = "";
    let timerStarted = false;

    async function poll() {
      let data;
      try {
        const response = await fetch(root.dataset.url, { headers: { Accept: "application/json" } });
        if (!response.ok) return;
        data = await response.json();
      } catch (err) {
        return;
      }
      if (!data.active) {
        root.hidden = true;
        return;
      }
      root.hidden = false;
      checkinUrl = data.checkin_url;
      document.getElementById("srl-goal").textContent = data.goal;
      const p = data.progress;
      document.getElementById("srl-progress-text").textContent = `${p.solved} of ${p.target} ${p.unit}${p.target === 1 ? "" : "s"} solved towards your goal`;
      const bar = document.getElementById("srl-progress");
      bar.max = p.target;
      bar.value = Math.min(p.solved, p.target);
      document.getElementById("srl-prompt").textContent = data.prompts.join(" ");
      document.getElementById("srl-xp-line").textContent = data.xp === null ? "" : `${data.xp} XP · Level ${data.level} · `;
      document.getElementById("srl-study-link").href = data.study_url;
      if (!timerStarted && data.started_at) {
        timer.dataset.started = data.started_at;
        timer.dataset.planned = data.planned_minutes;
        startTimer(timer);
        timerStarted = true;
      }
      const due = data.checkin;
      if (due && !answered.has(due.message)) {
        form.elements.message.value = due.message;
        form.hidden = false;
      } else {
        form.hidden = true;
      }
    }

    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = new FormData(form);
      const response = await fetch(checkinUrl, {
        method: "POST",
        body,
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      const data = await response.json();
      answered.add(Number(body.get("message")));
      form.hidden = true;
      form.reset();
      feedback.textContent = data.feedback || data.error || "";
      if (data.ok) poll();
    });

    poll();
    setInterval(poll, POLL_MS);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = document.getElementById("srl-panel");
    if (root) {
      panel(root);
    } else {
      const timer = document.getElementById("srl-timer");
      if (timer) startTimer(timer);
    }
  });
})();
