/* Live leaderboards (voting/leaderboard_views.py): the page and the big screen.
 *
 * The board is rendered on the server and complete without this script. With it, the
 * element marked data-live polls its data-live-url every data-poll milliseconds with
 * If-None-Match and swaps the new fragment into [data-live-region] on a 200 only (304:
 * nothing changed). Rows (data-key = contestant, data-rank) that change place slide from
 * their old place to the new one (FLIP: set the inverse offset, then transition it away)
 * and keep an arrow for a few seconds. A failed poll keeps the last board on screen and
 * shows [data-reconnecting]; the next success hides it. Polling slows down in a hidden tab.
 */
(function () {
  "use strict";

  var ARROW_MS = 8000;

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
    var every = parseInt(root.getAttribute("data-poll"), 10) || 3000;
    var moves = {};

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
      var headers = etag ? { "If-None-Match": etag } : {};
      window.fetch(url, { headers: headers, cache: "no-store", credentials: "same-origin" })
        .then(function (response) {
          if (response.status === 304) { return null; }
          if (!response.ok) { throw new Error("HTTP " + response.status); }
          etag = response.headers.get("ETag") || "";
          return response.text();
        })
        .then(function (html) {
          if (html !== null) { swap(html); }
          connected(true);
        })
        .catch(function () { connected(false); })
        .then(function () {
          window.setTimeout(poll, document.hidden ? every * 5 : every);
        });
    }

    window.setTimeout(poll, every);
  }

  autosubmit();
  if (window.fetch) {
    document.querySelectorAll("[data-live]").forEach(live);
  }
})();
