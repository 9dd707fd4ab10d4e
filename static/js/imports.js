/* Import pages: busy buttons, confirmations, and the live progress of a running import.
 * Strings come from the page (json_script "import-strings"): no language lives here. */
(function () {
  "use strict";

  // A submit button shows it is working; disabled a tick later so its name still posts.
  document.querySelectorAll("form[data-busy-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      var button = event.submitter;
      if (!button || !button.dataset.busyLabel) return;
      setTimeout(function () {
        button.textContent = button.dataset.busyLabel;
        button.disabled = true;
        form.setAttribute("aria-busy", "true");
      }, 0);
    });
  });

  document.querySelectorAll("[data-confirm]").forEach(function (el) {
    el.addEventListener("click", function (event) {
      if (!window.confirm(el.dataset.confirm)) event.preventDefault();
    });
  });

  var box = document.getElementById("import-progress");
  var stringsEl = document.getElementById("import-strings");
  if (!box || !stringsEl) return;
  var strings = JSON.parse(stringsEl.textContent);
  var bar = document.getElementById("import-bar");
  var phase = document.getElementById("import-phase");
  var count = document.getElementById("import-count");
  var error = document.getElementById("import-error");
  var done = document.getElementById("import-done");
  var link = document.getElementById("import-report-link");

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (_, key) { return String(values[key]); });
  }

  function show(status) {
    var total = Math.max(status.total || 0, status.processed || 0, 1);
    bar.max = total;
    bar.value = status.processed || 0;
    count.textContent = format(strings.count, { done: status.processed || 0, total: status.total || 0 });
    phase.textContent = strings[status.phase] || status.phase;
    box.dataset.phase = status.phase;
    if (status.error) {
      error.textContent = status.error;
      error.hidden = false;
    }
    if (status.phase === "done" || status.phase === "failed") {
      if (status.phase === "done") bar.value = bar.max;
      if (status.reportUrl) link.href = status.reportUrl;
      done.hidden = false;
      link.focus();
      return true;
    }
    return false;
  }

  function poll() {
    fetch(box.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (status) {
        if (!show(status)) setTimeout(poll, 1000);
      })
      .catch(function () {
        count.textContent = strings.networkError;
        setTimeout(poll, 2000);
      });
  }

  if (box.dataset.phase !== "done" && box.dataset.phase !== "failed") setTimeout(poll, 1000);
})();
