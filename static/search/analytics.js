// Search analytics (#13, search/analytics.py): tells the server once that this search page was seen,
// and which result the reader opens. navigator.sendBeacon queues the request and never delays
// navigation; links stay plain links, so nothing changes when this script is off or blocked.
// No cookie and nothing stored: the view id is random and lives only as long as this page.
(function () {
  "use strict";

  function viewId() {
    var bytes = new Uint8Array(16);
    window.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) { return (b < 16 ? "0" : "") + b.toString(16); }).join("");
  }

  function send(url, fields) {
    var body = new URLSearchParams(fields);
    if (navigator.sendBeacon) {
      navigator.sendBeacon(url, body);
    } else if (window.fetch) {
      window.fetch(url, { method: "POST", body: body, keepalive: true, credentials: "omit" });
    }
  }

  function start() {
    var root = document.querySelector("[data-search-log]");
    if (!root || !window.crypto || !window.URLSearchParams) return;
    var url = root.getAttribute("data-search-log-url");
    var token = root.getAttribute("data-search-log");
    var view = viewId();
    send(url, { t: token, v: view });

    function opened(event) {
      // A result's title link only: tags and filters inside a card are not results.
      if (event.type === "auxclick" && event.button !== 1) return;
      var link = event.target.closest && event.target.closest(".card-title a");
      if (!link || !root.contains(link)) return;
      var cards = root.querySelectorAll(".card[data-article]");
      var index = Array.prototype.indexOf.call(cards, link.closest(".card[data-article]"));
      if (index >= 0) send(url, { t: token, v: view, i: String(index) });
    }
    root.addEventListener("click", opened);
    root.addEventListener("auxclick", opened);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
