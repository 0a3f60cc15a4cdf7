/* Live leaderboards (voting/leaderboard_views.py): the page and the big screen.
 *
 * The board is rendered on the server and complete without this script. With it, the
 * element marked data-live polls its data-live-url every data-poll milliseconds with
 * If-None-Match and swaps the new fragment into [data-live-region] on a 200 only (304:
 * nothing changed). Rows (data-key = contestant, data-rank) that change place slide from
 * their old place to the new one (FLIP: set the inverse offset, then transition it away)
 * and keep an arrow for a few seconds. A failed poll keeps the last board on screen and
 * shows [data-reconnecting]; the next success hides it. Polling slows down in a hidden tab.
 *
 * Phones on slow data: while the reader looks at the top of a long board, the poll asks for
 * the slim fragment (?rows=N, the rows the screen shows and a few more) and merges it over
 * the first rows; the rows further down are refreshed by a whole-fragment poll every
 * FULL_EVERY polls, and at once when the reader scrolls past the slim rows.
 */
(function () {
  "use strict";

  var ARROW_MS = 8000;
  var FULL_EVERY = 10;
  var SLIM_MARGIN = 2;
  var SLIM_MAX = 40;

  function autosubmit() {
    document.querySelectorAll("form[data-autosubmit] select").forEach(function (select) {
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  function live(root) {
    var region = root.querySelector("[data-live-region]");
    var marker = root.querySelector("[data-reconnecting]");
    var url = root.getAttribute("data-live-url");
    var etag = root.getAttribute("data-etag") || "";
    var slimEtag = "";
    var every = parseInt(root.getAttribute("data-poll"), 10) || 3000;
    var moves = {};
    var polls = 0;
    var lastSlim = 0;

    // How many rows the slim poll asks for: those starting above the viewport's bottom,
    // plus a margin; 0 (the whole fragment) when that is most of the page anyway.
    function slimRows() {
      var rows = region.querySelectorAll("ol.board > [data-key]");
      var seen = 0;
      for (var i = 0; i < rows.length; i += 1) {
        if (rows[i].getBoundingClientRect().top >= window.innerHeight) { break; }
        seen += 1;
      }
      var wanted = seen + SLIM_MARGIN;
      return wanted > SLIM_MAX || wanted >= rows.length ? 0 : wanted;
    }

    // The slim fragment's rows over the first rows of the board on screen: rows it does not
    // name keep their place below it, the pager stays.
    function merged(html) {
      var box = document.createElement("div");
      box.innerHTML = html;
      var fresh = box.querySelector("ol.board");
      var current = region.querySelector("ol.board");
      if (!fresh || !current) { return html; }
      var named = {};
      fresh.querySelectorAll("[data-key]").forEach(function (row) {
        named[row.getAttribute("data-key")] = true;
      });
      current.querySelectorAll(":scope > [data-key]").forEach(function (row) {
        if (!named[row.getAttribute("data-key")]) { fresh.appendChild(row.cloneNode(true)); }
      });
      var pager = region.querySelector(".pagination");
      if (pager) { box.appendChild(pager.cloneNode(true)); }
      return box.innerHTML;
    }

    function places() {
      var map = {};
      region.querySelectorAll("[data-key]").forEach(function (row) {
        var box = row.getBoundingClientRect();
        map[row.getAttribute("data-key")] = {
          x: box.left, y: box.top, rank: parseInt(row.getAttribute("data-rank"), 10)
        };
      });
      return map;
    }

    function swap(html) {
      var before = places();
      var now = Date.now();
      var sliding = [];
      region.innerHTML = html;
      region.querySelectorAll("[data-key]").forEach(function (row) {
        var key = row.getAttribute("data-key");
        var old = before[key];
        if (old) {
          var rank = parseInt(row.getAttribute("data-rank"), 10);
          if (rank !== old.rank) {
            moves[key] = { up: rank < old.rank, until: now + ARROW_MS };
          }
          var box = row.getBoundingClientRect();
          var dx = old.x - box.left;
          var dy = old.y - box.top;
          if (dx || dy) {
            row.style.transition = "none";
            row.style.transform = "translate(" + dx + "px, " + dy + "px)";
            sliding.push(row);
          }
        }
        var move = moves[key];
        if (move && move.until > now) {
          row.classList.add(move.up ? "moved-up" : "moved-down");
        }
      });
      if (sliding.length) {
        void region.offsetWidth;  // commit the inverse offsets before animating them away
        window.requestAnimationFrame(function () {
          sliding.forEach(function (row) {
            row.style.transition = "";
            row.style.transform = "";
          });
        });
      }
      root.setAttribute("data-updated", String(now));
    }

    function connected(ok) {
      root.classList.toggle("is-reconnecting", !ok);
      if (marker) { marker.hidden = ok; }
    }

    function poll() {
      polls += 1;
      var rows = polls % FULL_EVERY === 0 ? 0 : slimRows();
      lastSlim = rows;
      var tag = rows ? slimEtag : etag;
      var headers = tag ? { "If-None-Match": tag } : {};
      var target = rows ? url + (url.indexOf("?") < 0 ? "?" : "&") + "rows=" + rows : url;
      window.fetch(target, { headers: headers, cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 304) { return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          if (rows) {
            slimEtag = response.headers.get("ETag") || "";
          } else {
            etag = response.headers.get("ETag") || "";
            slimEtag = "";
          }
          return response.text();
        })
        .then(function (html) {
          if (html !== null) { swap(rows ? merged(html) : html); }
          connected(true);
        })
        .catch(function () { connected(false); })
        .then(function () {
          window.setTimeout(poll, document.hidden ? every * 5 : every);
        });
    }

    // Scrolled past the slim rows: the next poll brings the whole page up to date.
    window.addEventListener("scroll", function () {
      var rows = slimRows();
      if (rows === 0 || rows > lastSlim) { polls = FULL_EVERY - 1; }
    }, { passive: true });

    window.setTimeout(poll, every);
  }

  autosubmit();
  if (window.fetch) {
    document.querySelectorAll("[data-live]").forEach(live);
  }
})();
