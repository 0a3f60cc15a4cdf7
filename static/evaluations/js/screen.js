/* The venue screen (evaluations/live_views.py): everything is drawn from the polled state.
 * Polls every data-poll ms with If-None-Match; a failed poll keeps the last picture and
 * shows "reconnecting", and the next success hides it (no reload needed). A score that
 * appears for the contestant on stage is animated once. */
(function () {
  "use strict";
  var root = document.querySelector("[data-screen]");
  if (!root) { return; }
  var every = parseInt(root.dataset.poll, 10) || 1000;
  var etag = "";
  var shownScoreFor = null;

  function t(name, values) {
    var text = root.getAttribute("data-t-" + name) || "";
    Object.keys(values || {}).forEach(function (k) { text = text.replace("%(" + k + ")s", String(values[k])); });
    return text;
  }

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) { node.className = cls; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function renderStage(person) {
    var box = root.querySelector("[data-stage]");
    box.innerHTML = "";
    if (!person) { box.appendChild(el("p", "scr-waiting", t("waiting"))); return; }
    var head = el("div", "scr-person");
    var photo;
    if (person.photo) { photo = el("img", "scr-photo"); photo.src = person.photo; photo.alt = ""; }
    else { photo = el("div", "scr-photo", person.name.slice(0, 1)); }
    head.appendChild(photo);
    var text = el("div");
    if (person.order) { text.appendChild(el("p", "scr-order", t("order", { n: person.order }))); }
    text.appendChild(el("p", "scr-name", person.name));
    text.appendChild(el("p", "scr-unit", person.unit));
    head.appendChild(text);
    box.appendChild(head);
    box.appendChild(el("p", "scr-progress", t("progress", { n: person.scored, m: person.judges })));
    if (person.score) {
      var score = el("p", "scr-score", person.score);
      score.setAttribute("data-score", person.id);
      if (shownScoreFor !== person.id + ":" + person.score) {
        score.classList.add("is-new");
        shownScoreFor = person.id + ":" + person.score;
      }
      box.appendChild(score);
    }
    if (person.qr) {
      var vote = el("div", "scr-vote");
      var holder = el("div");
      holder.innerHTML = person.qr;  // segno's SVG, made on the server from an escaped URL
      vote.appendChild(holder);
      vote.appendChild(el("p", "", t("vote")));
      box.appendChild(vote);
    }
  }

  function renderRanking(rows) {
    var body = root.querySelector("[data-ranking]");
    body.innerHTML = "";
    if (!rows.length) {
      var empty = el("tr");
      empty.appendChild(el("td", "scr-waiting", t("none")));
      body.appendChild(empty);
      return;
    }
    rows.forEach(function (row) {
      var tr = el("tr");
      tr.setAttribute("data-key", row.id);
      tr.appendChild(el("td", "scr-rank", String(row.rank)));
      tr.appendChild(el("td", "", row.name));
      tr.appendChild(el("td", "scr-points", row.score));
      body.appendChild(tr);
    });
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    window.fetch(root.dataset.stateUrl, { headers: headers, cache: "no-store" })
      .then(function (r) {
        if (r.status === 304) { return null; }
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        etag = r.headers.get("ETag") || "";
        return r.json();
      })
      .then(function (state) {
        if (state) {
          renderStage(state.on_stage);
          renderRanking(state.ranking);
          root.setAttribute("data-version", String(state.version));
        }
        root.querySelector("[data-reconnecting]").hidden = true;
      })
      .catch(function () { root.querySelector("[data-reconnecting]").hidden = false; })
      .then(function () { window.setTimeout(poll, every); });
  }

  poll();
})();
