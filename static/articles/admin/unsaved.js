// Nothing an editor types is lost: the article form's text is kept in this
// browser's storage while it is unsaved, offered back when the editor returns
// (tab closed, browser crashed, session expired), and cleared once a save
// succeeds. Leaving the page with unsaved changes asks first.
// Loaded on every admin page, because a successful save lands on another page
// (the changelist after "Save"). No inline script: it runs under the strict CSP.
(function () {
  "use strict";
  const TEXT_FIELDS = ["title", "slug", "summary", "body", "tags"];
  const SUBMITTED = "kb-unsaved:submitted";
  const STASH_DELAY_MS = 400;

  function storage(kind) {
    try {
      const store = window[kind];
      const probe = "kb-unsaved:probe";
      store.setItem(probe, "1");
      store.removeItem(probe);
      return store;
    } catch (error) {
      return null; // private mode or storage disabled: nothing to keep, nothing to offer
    }
  }
  const local = storage("localStorage");
  const session = storage("sessionStorage");

  function read(key) {
    try {
      return JSON.parse(local.getItem(key));
    } catch (error) {
      return null;
    }
  }

  function write(key, value) {
    try {
      local.setItem(key, JSON.stringify(value));
    } catch (error) {
      // Quota exceeded: the form still holds the text; the prompt on leaving still guards it.
    }
  }

  // The page after a submit tells whether the save went through.
  function settleLastSubmit() {
    const key = session && session.getItem(SUBMITTED);
    if (!key) return;
    session.removeItem(SUBMITTED);
    const saved = document.querySelector(".messagelist .success") && !document.querySelector(".errornote");
    if (saved && local) {
      local.removeItem(key);
      local.removeItem(key + ":offered");
    }
  }

  function textFields(form) {
    return TEXT_FIELDS.map(function (name) {
      const field = form.elements.namedItem(name);
      return field && (field.tagName === "INPUT" || field.tagName === "TEXTAREA") ? field : null;
    }).filter(Boolean);
  }

  function values(fields) {
    const result = {};
    fields.forEach(function (field) { result[field.name] = field.value; });
    return result;
  }

  function sameValues(a, b) {
    return Object.keys(a).every(function (name) { return a[name] === b[name]; });
  }

  // Every field the editor can change, for "are there unsaved changes?".
  function formState(form) {
    return Array.from(form.elements)
      .filter(function (el) { return el.name && !["hidden", "submit", "button", "file"].includes(el.type); })
      .map(function (el) { return el.type === "checkbox" || el.type === "radio" ? el.checked : el.value; })
      .join("\u0000");
  }

  function button(text, onClick) {
    const element = document.createElement("button");
    element.type = "button"; // inside the article form: must never submit it
    element.className = "button";
    element.textContent = text;
    element.addEventListener("click", onClick);
    return element;
  }

  function offer(notice, form, fields, key, stash) {
    const savedVersion = notice.dataset.version;
    const when = new Date(stash.savedAt).toLocaleString([], { dateStyle: "medium", timeStyle: "short" });
    const message = document.createElement("p");
    message.textContent = "You have text from " + when + " that was never saved.";
    if (stash.version && savedVersion && stash.version !== savedVersion) {
      message.textContent += " The article has been saved since (version " + savedVersion +
        "); if you restore your text, saving will show you what changed before anything is overwritten.";
    }
    const actions = document.createElement("p");
    actions.className = "unsaved-work-actions";
    actions.appendChild(button("Restore my unsaved text", function () {
      fields.forEach(function (field) {
        if (typeof stash.fields[field.name] === "string") {
          field.value = stash.fields[field.name];
          field.dispatchEvent(new Event("input", { bubbles: true }));
        }
      });
      if (stash.version && savedVersion && stash.version !== savedVersion) {
        // Claim the version the text was written against, so the server's
        // conflict check compares it with what was saved since.
        const version = form.elements.namedItem("edit_version");
        if (version) version.value = stash.version;
      }
      local.removeItem(key + ":offered");
      notice.replaceChildren(Object.assign(document.createElement("p"), {
        textContent: "Restored your unsaved text. Save to keep it.",
      }));
    }));
    actions.appendChild(button("Discard it", function () {
      local.removeItem(key + ":offered");
      notice.replaceChildren(Object.assign(document.createElement("p"), { textContent: "Discarded." }));
    }));
    notice.replaceChildren(message, actions);
    notice.hidden = false;
  }

  function start(notice) {
    const form = notice.closest("form");
    if (!form) return;
    const fields = textFields(form);
    if (!fields.length) return; // read-only for this user: nothing to keep
    const key = notice.dataset.draftKey;
    const initialText = values(fields);
    const initialState = formState(form);
    let submitting = false;

    if (local) {
      // An earlier offer the editor never answered stays offered; newer unsaved text replaces it.
      const stash = read(key) || read(key + ":offered");
      if (stash && stash.fields && !sameValues(stash.fields, initialText)) {
        write(key + ":offered", stash);
        local.removeItem(key);
        offer(notice, form, fields, key, stash);
      } else if (stash) {
        local.removeItem(key); // the form already shows exactly that text
      }
    }

    let timer = null;
    function stashNow() {
      if (!local) return;
      const current = values(fields);
      if (sameValues(current, initialText)) {
        local.removeItem(key);
      } else {
        write(key, { fields: current, version: notice.dataset.version, savedAt: Date.now() });
      }
    }
    form.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(stashNow, STASH_DELAY_MS);
    });
    form.addEventListener("submit", function () {
      submitting = true;
      clearTimeout(timer);
      stashNow(); // until the next page says the save succeeded
      if (session) session.setItem(SUBMITTED, key);
    });
    window.addEventListener("beforeunload", function (event) {
      if (submitting || formState(form) === initialState) return;
      event.preventDefault();
      event.returnValue = ""; // older browsers need it set to show the prompt
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    settleLastSubmit();
    const notice = document.getElementById("unsaved-work");
    if (notice && local) start(notice);
  });
})();
