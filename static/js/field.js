/* Field pages: grid worker report, case actions, department inbox, hotline form.
 *
 * Everything here enhances forms that work without it: the two-level category select
 * narrows a plain <select> with optgroups, photos get previews, and the Idempotency-Key (one per form, kept until the case is registered) makes a double
 * tap or a resubmission after a dropped connection return the same case.
 */
(function () {
  "use strict";

  var stringsNode = document.getElementById("field-strings");
  var T = stringsNode ? JSON.parse(stringsNode.textContent) : {};

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function byId(id) {
    return document.getElementById(id);
  }

  // The map pages' script (field_map.js) shares the strings and helpers.
  window.chaoyangField = { T: T, fmt: fmt, byId: byId };

  // ---- two-level category select ------------------------------------------------

  function setupCategories() {
    var group = document.querySelector("[data-category-group]");
    if (!group) return;
    var leaf = byId(group.getAttribute("data-category-group"));
    var examples = byId("category-examples");
    var groups = Array.prototype.slice.call(leaf.querySelectorAll("optgroup"));

    function showGroup(code) {
      groups.forEach(function (g) {
        var match = !code || g.getAttribute("data-group") === code;
        g.hidden = !match;
        g.disabled = !match;
      });
      var selected = leaf.options[leaf.selectedIndex];
      if (selected && selected.parentNode.disabled) leaf.value = "";
    }

    function showExamples() {
      var selected = leaf.options[leaf.selectedIndex];
      var text = selected ? selected.getAttribute("data-examples") : "";
      if (examples) examples.textContent = text ? text : "";
    }

    group.addEventListener("change", function () {
      showGroup(group.value);
      showExamples();
    });
    leaf.addEventListener("change", function () {
      var selected = leaf.options[leaf.selectedIndex];
      if (selected && selected.parentNode.tagName === "OPTGROUP") {
        group.value = selected.parentNode.getAttribute("data-group");
      }
      showExamples();
    });
    // A form shown again after an error keeps its subcategory: show its group.
    var selected = leaf.options[leaf.selectedIndex];
    if (selected && selected.value && selected.parentNode.tagName === "OPTGROUP") {
      group.value = selected.parentNode.getAttribute("data-group");
      showGroup(group.value);
    }
    showExamples();
  }

  // ---- photo previews -----------------------------------------------------------

  var MAX_PHOTOS = 9;

  function setupPreviews() {
    document.querySelectorAll("input[type=file][data-preview]").forEach(function (input) {
      var list = byId(input.getAttribute("data-preview"));
      var count = byId(input.getAttribute("data-count"));
      var urls = [];
      input.addEventListener("change", function () {
        urls.forEach(function (u) { URL.revokeObjectURL(u); });
        urls = [];
        list.textContent = "";
        var files = Array.prototype.slice.call(input.files || []);
        if (files.length > MAX_PHOTOS) {
          input.setCustomValidity(T.tooManyPhotos);
          input.reportValidity();
        } else {
          input.setCustomValidity("");
        }
        files.slice(0, MAX_PHOTOS).forEach(function (file, i) {
          var li = document.createElement("li");
          var img = document.createElement("img");
          var url = URL.createObjectURL(file);
          urls.push(url);
          img.src = url;
          img.alt = file.name || String(i + 1);
          li.appendChild(img);
          list.appendChild(li);
        });
        if (count) count.textContent = files.length ? fmt(T.photoCount, { n: files.length }) : "";
      });
    });
  }

  // ---- idempotency key: one per form, until the case is registered ----------------

  function newKey() {
    var c = window.crypto;
    if (c && typeof c.randomUUID === "function") return c.randomUUID();
    // randomUUID exists only on https pages; getRandomValues works on plain http too.
    var b = new Uint8Array(16);
    if (c && c.getRandomValues) c.getRandomValues(b);
    else for (var i = 0; i < 16; i++) b[i] = Math.floor(Math.random() * 256);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) { return (x + 0x100).toString(16).slice(1); });
    return [h.slice(0, 4), h.slice(4, 6), h.slice(6, 8), h.slice(8, 10), h.slice(10)]
      .map(function (p) { return p.join(""); })
      .join("-");
  }

  function store() {
    try {
      return window.sessionStorage;
    } catch (e) {
      return null; // storage disabled: the key lives as long as the page
    }
  }

  function setupIdempotency() {
    var s = store();
    document.querySelectorAll("input[data-idempotency]").forEach(function (input) {
      var slot = "chaoyang.idempotency." + input.getAttribute("data-idempotency");
      // A page shown again after an error carries the key it was sent with: keep it.
      // Otherwise reuse the key of a submission whose answer never arrived, so sending
      // the report again returns that case instead of registering a second one.
      if (!input.value) input.value = (s && s.getItem(slot)) || newKey();
      if (s) s.setItem(slot, input.value);
      window.addEventListener("pageshow", function (event) {
        // Back from the success page: that key is spent, this form needs a new one.
        if (event.persisted && s && s.getItem(slot) !== input.value) {
          input.value = newKey();
          s.setItem(slot, input.value);
        }
      });
    });
    var done = document.querySelector("[data-idempotency-done]");
    if (done && s) {
      var slot = "chaoyang.idempotency." + done.getAttribute("data-idempotency-done");
      var used = done.getAttribute("data-used-key");
      if (used && s.getItem(slot) === used) s.removeItem(slot);
    }
  }

  // ---- submitting: confirmation, one submission at a time, a visible busy state -----

  function setBusy(form, busy) {
    form.classList.toggle("is-busy", busy);
    form.setAttribute("aria-busy", busy ? "true" : "false");
    form.querySelectorAll("[data-submit]").forEach(function (b) { b.disabled = busy; });
    var status = form.querySelector("[data-submit-status]");
    if (status) status.textContent = busy ? T.submitting : "";
  }

  function setupSubmit() {
    document.querySelectorAll("form[data-intake-form], form.action-form").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (form.classList.contains("is-busy")) {
          event.preventDefault(); // a second tap while the first is on its way
          return;
        }
        var message = form.getAttribute("data-confirm");
        if (message && !window.confirm(message)) {
          event.preventDefault();
          return;
        }
        setBusy(form, true);
      });
    });
    // Back/forward cache restores a page as it was left: busy. Make it usable again.
    window.addEventListener("pageshow", function () {
      document.querySelectorAll("form.is-busy").forEach(function (f) { setBusy(f, false); });
    });
    var summary = byId("error-summary") || byId("case-alert");
    if (summary) summary.focus();
  }

  setupCategories();
  setupPreviews();
  setupIdempotency();
  setupSubmit();
})();
