// Suggestions as you type in the header's search box (search/suggest.py answers them).
//
// The ARIA 1.2 combobox pattern, list autocomplete without automatic selection
// (https://www.w3.org/WAI/ARIA/apg/patterns/combobox/): the input keeps focus;
// Down/Up move through the titles (aria-activedescendant), Enter opens the
// active title or, with none active, submits the search as before; Escape
// closes the list, and a second Escape clears the box; a polite live region
// says how many titles there are. Without JavaScript the box is the plain
// search form. No inline script or style: everything here is this file and
// site.css, as the Content-Security-Policy requires.
(function () {
  "use strict";

  var DEBOUNCE_MS = 150;
  var MIN_CHARS = 2;

  function enhance(input) {
    var url = input.getAttribute("data-suggest-url");
    var form = input.form;
    if (!url || !form || !window.fetch) return;

    var listId = input.id + "-suggestions";
    var list = document.createElement("ul");
    list.id = listId;
    list.className = "suggest-list";
    list.setAttribute("role", "listbox");
    list.setAttribute("aria-label", "Suggested articles");
    list.hidden = true;

    var status = document.createElement("div");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    status.setAttribute("aria-atomic", "true");

    form.classList.add("has-suggestions");
    input.insertAdjacentElement("afterend", list);
    form.appendChild(status);

    input.setAttribute("role", "combobox");
    input.setAttribute("aria-autocomplete", "list");
    input.setAttribute("aria-expanded", "false");
    input.setAttribute("aria-controls", listId);

    var items = []; // [{title, url}] shown in the list
    var active = -1;
    var timer = null;
    var controller = null;
    var answered = new Map(); // query -> suggestions, for this page's lifetime
    var lastQuery = null;

    function option(i) {
      return list.children[i];
    }

    function setActive(i) {
      if (active >= 0 && option(active)) option(active).setAttribute("aria-selected", "false");
      active = i;
      if (active >= 0) {
        var el = option(active);
        el.setAttribute("aria-selected", "true");
        input.setAttribute("aria-activedescendant", el.id);
        el.scrollIntoView({ block: "nearest" });
      } else {
        input.removeAttribute("aria-activedescendant");
      }
    }

    function open() {
      if (!items.length) return;
      list.hidden = false;
      input.setAttribute("aria-expanded", "true");
    }

    function close() {
      setActive(-1);
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    }

    function announce(text) {
      // Cleared first, so the same count typed twice is announced again.
      status.textContent = "";
      window.setTimeout(function () {
        status.textContent = text;
      }, 50);
    }

    function show(suggestions) {
      items = suggestions;
      active = -1;
      input.removeAttribute("aria-activedescendant");
      list.replaceChildren();
      suggestions.forEach(function (suggestion, i) {
        var li = document.createElement("li");
        li.id = listId + "-" + i;
        li.className = "suggest-option";
        li.setAttribute("role", "option");
        li.setAttribute("aria-selected", "false");
        li.textContent = suggestion.title; // text, never HTML
        list.appendChild(li);
      });
      if (items.length) {
        open();
        announce(
          items.length +
            (items.length === 1 ? " suggestion" : " suggestions") +
            " available. Use the up and down arrows to choose one."
        );
      } else {
        close();
        announce("No suggestions.");
      }
    }

    function go(i) {
      var target = items[i];
      if (!target) return;
      close();
      window.location.assign(target.url);
    }

    function request() {
      var q = input.value.trim();
      if (q.length < MIN_CHARS) {
        lastQuery = null;
        items = [];
        list.replaceChildren();
        close();
        return;
      }
      if (q === lastQuery) {
        open();
        return;
      }
      lastQuery = q;
      if (answered.has(q)) {
        show(answered.get(q));
        return;
      }
      if (controller) controller.abort();
      controller = new AbortController();
      fetch(url + "?q=" + encodeURIComponent(q), {
        headers: { Accept: "application/json" },
        signal: controller.signal,
        credentials: "same-origin",
      })
        .then(function (response) {
          if (!response.ok) throw new Error("suggest " + response.status);
          return response.json();
        })
        .then(function (body) {
          answered.set(q, body.suggestions);
          // An answer for what the box no longer says is dropped.
          if (input.value.trim() === q) show(body.suggestions);
        })
        .catch(function () {
          // Aborted or failed: the plain search still works.
        });
    }

    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(request, DEBOUNCE_MS);
    });

    input.addEventListener("keydown", function (event) {
      var expanded = !list.hidden;
      switch (event.key) {
        case "ArrowDown":
          event.preventDefault();
          if (!expanded) {
            open();
            if (items.length && !event.altKey) setActive(0);
          } else if (items.length) {
            setActive(active + 1 >= items.length ? 0 : active + 1);
          }
          break;
        case "ArrowUp":
          event.preventDefault();
          if (!expanded) {
            open();
            if (items.length) setActive(items.length - 1);
          } else if (items.length) {
            setActive(active <= 0 ? items.length - 1 : active - 1);
          }
          break;
        case "Enter":
          if (expanded && active >= 0) {
            event.preventDefault();
            go(active);
          }
          break;
        case "Escape":
          if (expanded) {
            event.preventDefault();
            close();
          } else if (input.value) {
            event.preventDefault();
            input.value = "";
            lastQuery = null;
            items = [];
            list.replaceChildren();
          }
          break;
        case "Tab":
          close();
          break;
        default:
          break;
      }
    });

    // Keeps focus in the input while a title is clicked.
    list.addEventListener("mousedown", function (event) {
      event.preventDefault();
    });
    list.addEventListener("click", function (event) {
      var li = event.target.closest('[role="option"]');
      if (li) go(Array.prototype.indexOf.call(list.children, li));
    });
    list.addEventListener("mousemove", function (event) {
      var li = event.target.closest('[role="option"]');
      if (li) {
        var i = Array.prototype.indexOf.call(list.children, li);
        if (i !== active) setActive(i);
      }
    });

    input.addEventListener("blur", function () {
      close();
    });
    input.addEventListener("focus", function () {
      if (items.length && input.value.trim() === lastQuery) open();
    });
  }

  function start() {
    document.querySelectorAll("input[data-suggest-url]").forEach(enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
