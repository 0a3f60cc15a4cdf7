/* The judge's tablet (evaluations/views.py). Works on plain http:// on the venue LAN: no
 * service worker, everything lives in localStorage under "ss.judge.<judge>.<stage>":
 *   drafts: {contestantId: {points: {criterionId: n}, comment}}  - what the judge is typing
 *   outbox: [{key, contestant, points, comment}]                 - confirmed, not yet stored
 * A confirmed score gets a random idempotency key made here, so sending it twice (a retry
 * after a dropped answer) stores it once. The outbox is flushed at once, then every few
 * seconds while anything is waiting; a banner says "offline - N scores waiting".
 * The judge's state (running order, on stage, own scores) is polled every data-poll ms
 * with If-None-Match; when the host puts someone new on stage, the sheet follows.
 */
(function () {
  "use strict";

  var root = document.querySelector("[data-tablet]");
  if (!root) { return; }
  var STORE = "ss.judge." + root.dataset.judge + "." + root.dataset.stage;
  var csrf = root.querySelector("input[name=csrfmiddlewaretoken]").value;
  var every = parseInt(root.dataset.poll, 10) || 1000;
  var etag = "";
  var state = null;
  var selected = null;
  var lastOnStage = null;
  var online = true;
  var flushing = false;
  var refused = {};

  function t(name, n) {
    return (root.dataset["t" + name] || "").replace("%(n)s", String(n));
  }

  function load() {
    try {
      var data = JSON.parse(window.localStorage.getItem(STORE) || "{}");
      return { drafts: data.drafts || {}, outbox: data.outbox || [] };
    } catch (e) {
      return { drafts: {}, outbox: [] };
    }
  }
  var store = load();
  function save() { window.localStorage.setItem(STORE, JSON.stringify(store)); }

  function uuid4() {
    // crypto.randomUUID needs a secure context (https or localhost); getRandomValues does not.
    var b = new Uint8Array(16);
    window.crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function pendingFor(id) {
    return store.outbox.some(function (item) { return String(item.contestant) === String(id); });
  }

  function rowOf(id) {
    if (!state) { return null; }
    for (var i = 0; i < state.contestants.length; i++) {
      if (String(state.contestants[i].id) === String(id)) { return state.contestants[i]; }
    }
    return null;
  }

  function stateOf(row) {
    if (pendingFor(row.id)) { return "pending"; }
    return row.state;
  }

  function banner() {
    var el = root.querySelector("[data-banner]");
    var n = store.outbox.length;
    el.hidden = n === 0;
    el.textContent = online ? t("Sending", n) : t("Offline", n);
    root.classList.toggle("is-offline", !online);
  }

  function renderOrder() {
    root.querySelectorAll("[data-contestant]").forEach(function (button) {
      var row = rowOf(button.dataset.contestant);
      if (!row) { return; }
      var s = stateOf(row);
      button.className = "order-item state-" + s;
      var label = { open: t("Open"), submitted: t("Submitted") + " " + (row.total !== undefined ? row.total : ""),
        pending: t("Pending"), recused: t("Recused"), closed: t("Closed"), reopened: t("Reopened") }[s] || "";
      if (state.on_stage === row.id) { label = t("OnStage") + " · " + label; }
      button.querySelector("[data-state-label]").textContent = label;
      button.classList.toggle("is-on-stage", state.on_stage === row.id);
      button.classList.toggle("is-selected", String(selected) === String(row.id));
    });
  }

  function criteria() { return root.querySelectorAll("[data-criterion]"); }

  function readPoints() {
    var points = {};
    criteria().forEach(function (box) {
      points[box.dataset.criterion] = parseInt(box.querySelector("[data-slider]").value, 10) || 0;
    });
    return points;
  }

  function showTotal() {
    var total = 0;
    criteria().forEach(function (box) {
      var value = parseInt(box.querySelector("[data-slider]").value, 10) || 0;
      box.querySelector("[data-points]").textContent = String(value);
      total += value;
    });
    root.querySelector("[data-total]").textContent = String(total);
    return total;
  }

  function renderSheet() {
    var form = root.querySelector("[data-form]");
    var row = selected !== null ? rowOf(selected) : null;
    root.querySelector("[data-empty]").hidden = !!row;
    form.hidden = !row;
    if (!row) { return; }
    var s = stateOf(row);
    var editable = s === "open" || s === "reopened";
    root.querySelector("[data-sheet-no]").textContent = row.order ? row.order + "." : "";
    root.querySelector("[data-sheet-name]").textContent = row.name;
    root.querySelector("[data-sheet-unit]").textContent = row.unit;
    var status = { submitted: t("Locked"), pending: t("Pending"), recused: t("Recused"),
      closed: t("Closed"), reopened: t("Reopened") }[s] || "";
    if (refused[row.id]) { status = t("Refused") + " " + refused[row.id]; }
    root.querySelector("[data-sheet-status]").textContent = status;
    var draft = store.drafts[row.id] || {};
    var shown = s === "submitted" ? row.points || {} : (pendingItem(row.id) || draft).points || {};
    criteria().forEach(function (box) {
      var slider = box.querySelector("[data-slider]");
      slider.value = String(shown[box.dataset.criterion] || 0);
      slider.disabled = !editable;
      box.querySelectorAll("[data-step]").forEach(function (b) { b.disabled = !editable; });
    });
    var comment = root.querySelector("[data-comment]");
    comment.value = draft.comment || "";
    comment.disabled = !editable;
    root.querySelector("[data-submit]").hidden = !editable;
    showTotal();
  }

  function pendingItem(id) {
    for (var i = 0; i < store.outbox.length; i++) {
      if (String(store.outbox[i].contestant) === String(id)) { return store.outbox[i]; }
    }
    return null;
  }

  function saveDraft() {
    if (selected === null) { return; }
    store.drafts[selected] = { points: readPoints(), comment: root.querySelector("[data-comment]").value };
    save();
  }

  function select(id) {
    selected = id;
    renderOrder();
    renderSheet();
  }

  function apply(next) {
    state = next;
    if (state.on_stage !== lastOnStage) {
      lastOnStage = state.on_stage;
      if (state.on_stage !== null) { selected = state.on_stage; }
    }
    renderOrder();
    renderSheet();
  }

  function poll() {
    var headers = etag ? { "If-None-Match": etag } : {};
    window.fetch(root.dataset.stateUrl, { headers: headers, cache: "no-store", credentials: "same-origin" })
      .then(function (response) {
        if (response.status === 304) { return null; }
        if (!response.ok) { throw new Error("HTTP " + response.status); }
        etag = response.headers.get("ETag") || "";
        return response.json();
      })
      .then(function (data) {
        if (data) { apply(data); }
        if (!online) { online = true; banner(); flush(); }
      })
      .catch(function () { online = false; banner(); })
      .then(function () { window.setTimeout(poll, every); });
  }

  function flush() {
    if (flushing || !store.outbox.length) { banner(); return; }
    flushing = true;
    var item = store.outbox[0];
    window.fetch(root.dataset.submitUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify(item)
    }).then(function (response) {
      return response.json().then(function (body) { return { status: response.status, body: body }; });
    }).then(function (answer) {
      online = true;
      store.outbox = store.outbox.filter(function (x) { return x.key !== item.key; });
      if (answer.status === 200 || answer.status === 201) {
        delete store.drafts[item.contestant];
        delete refused[item.contestant];
        var row = rowOf(item.contestant);
        if (row) { row.state = "submitted"; row.total = answer.body.total; row.points = item.points; }
      } else if (answer.status >= 500) {
        store.outbox.unshift(item);  // the server failed, not the score: try again later
        throw new Error("HTTP " + answer.status);
      } else {
        refused[item.contestant] = answer.body.detail || answer.body.code;
      }
      save();
      flushing = false;
      etag = "";
      renderOrder();
      renderSheet();
      flush();
    }).catch(function () {
      online = false;
      flushing = false;
      banner();
    });
  }

  function confirmBox(show) {
    root.querySelector("[data-confirm]").hidden = !show;
  }

  root.addEventListener("click", function (event) {
    var target = event.target.closest("button");
    if (!target) { return; }
    if (target.dataset.contestant) { select(target.dataset.contestant); return; }
    if (target.dataset.step) {
      var slider = target.parentNode.querySelector("[data-slider]");
      var max = parseInt(slider.max, 10);
      slider.value = String(Math.min(max, Math.max(0, (parseInt(slider.value, 10) || 0) + parseInt(target.dataset.step, 10))));
      showTotal();
      saveDraft();
      return;
    }
    if (target.hasAttribute("data-submit")) {
      var row = rowOf(selected);
      root.querySelector("[data-confirm-name]").textContent = row ? row.name : "";
      root.querySelector("[data-confirm-total]").textContent = String(showTotal());
      confirmBox(true);
      return;
    }
    if (target.hasAttribute("data-cancel")) { confirmBox(false); return; }
    if (target.hasAttribute("data-confirm-yes")) {
      confirmBox(false);
      saveDraft();
      var draft = store.drafts[selected];
      store.outbox.push({ key: uuid4(), contestant: parseInt(selected, 10), points: draft.points, comment: draft.comment || "" });
      save();
      renderOrder();
      renderSheet();
      flush();
    }
  });

  root.addEventListener("input", function (event) {
    if (event.target.matches("[data-slider]")) { showTotal(); }
    if (event.target.matches("[data-slider], [data-comment]")) { saveDraft(); }
  });

  window.addEventListener("online", function () { online = true; flush(); });
  window.addEventListener("offline", function () { online = false; banner(); });
  window.setInterval(flush, 3000);

  window.fetch(root.dataset.stateUrl, { cache: "no-store", credentials: "same-origin" })
    .then(function (r) { etag = r.headers.get("ETag") || ""; return r.json(); })
    .then(function (data) { apply(data); banner(); flush(); })
    .catch(function () { online = false; banner(); })
    .then(function () { window.setTimeout(poll, every); });
})();
