/* The host's page (evaluations/live_views.py): buttons post one action each; the state
 * (who is on stage, each judge's progress, every contestant's step) is polled with
 * If-None-Match every data-poll ms, so two hosts' pages agree within a second. */
(function () {
  "use strict";
  var root = document.querySelector("[data-host]");
  if (!root) { return; }
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var every = parseInt(root.dataset.poll, 10) || 1000;
  var etag = "";

  function t(name) { return root.getAttribute("data-t-" + name) || name; }

  function render(state) {
    var current = state.on_stage;
    root.querySelectorAll("[data-row]").forEach(function (row) {
      var id = row.dataset.row;
      var step = state.steps[id];
      row.querySelector("[data-step]").textContent = step ? t(step) : "";
      row.classList.toggle("is-on-stage", !!current && String(current.id) === id);
    });
    root.querySelector("[data-current]").textContent = current ? (current.order ? current.order + ". " : "") + current.name : "";
    root.querySelector("[data-count]").textContent = current ? current.scored + " / " + current.judges : "";
    root.querySelector("[data-score]").textContent = current && current.score ? current.score : "";
    var list = root.querySelector("[data-progress]");
    list.innerHTML = "";
    state.progress.forEach(function (p) {
      var li = document.createElement("li");
      li.className = "judge-" + p.state;
      li.textContent = p.judge + " · " + t(p.state);
      list.appendChild(li);
    });
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    window.fetch(root.dataset.stateUrl, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        etag = r.headers.get("ETag") || "";
        return r.json();
      })
      .then(function (state) { if (state) { render(state); } })
      .catch(function () {})
      .then(function () { window.setTimeout(poll, every); });
  }

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) { return; }
    var body = new FormData();
    body.append("action", button.dataset.action);
    body.append("contestant", button.dataset.contestant);
    var error = root.querySelector("[data-error]");
    window.fetch(root.dataset.actionUrl, { method: "POST", body: body, credentials: "same-origin", headers: { "X-CSRFToken": csrf } })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (answer) {
        error.hidden = answer.ok;
        if (answer.ok) { etag = ""; render(answer.body); } else { error.textContent = answer.body.detail; }
      })
      .catch(function () { error.hidden = false; error.textContent = "…"; });
  });

  poll();
})();
