// Live preview for the Markdown body: the server renders it with the same
// pipeline as the public page. No inline script, so it runs under a strict CSP.
(function () {
  "use strict";
  const DELAY_MS = 350;

  function start(textarea) {
    const url = textarea.dataset.previewUrl;
    const form = textarea.form;
    if (!url || !form) return;

    const workspace = document.createElement("div");
    workspace.className = "markdown-workspace";
    const editorColumn = document.createElement("div");
    const preview = document.createElement("div");
    preview.className = "markdown-preview prose";
    preview.setAttribute("role", "region");
    preview.setAttribute("aria-live", "polite");
    preview.setAttribute("aria-label", "Preview");
    const stats = document.createElement("p");
    stats.className = "markdown-stats";
    textarea.parentNode.insertBefore(workspace, textarea);
    editorColumn.appendChild(textarea);
    editorColumn.appendChild(stats);
    workspace.appendChild(editorColumn);
    workspace.appendChild(preview);

    let timer = null;
    let controller = null;

    async function render() {
      if (controller) controller.abort();
      controller = new AbortController();
      const data = new FormData();
      data.append("body", textarea.value);
      data.append("csrfmiddlewaretoken", form.querySelector("[name=csrfmiddlewaretoken]").value);
      preview.setAttribute("aria-busy", "true");
      try {
        const response = await fetch(url, { method: "POST", body: data, credentials: "same-origin", signal: controller.signal });
        const payload = await response.json();
        if (!response.ok) {
          stats.textContent = payload.error || "The preview could not be rendered.";
          return;
        }
        // The server sanitised this HTML (nh3, allow-list) before sending it.
        preview.innerHTML = payload.html;
        stats.textContent = payload.words + " words · " + payload.reading_time + " min read";
      } catch (error) {
        if (error.name !== "AbortError") stats.textContent = "Preview unavailable: " + error.message;
      } finally {
        preview.removeAttribute("aria-busy");
      }
    }

    textarea.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(render, DELAY_MS);
    });
    render();
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("textarea.markdown-editor[data-preview-url]").forEach(start);
  });
})();
