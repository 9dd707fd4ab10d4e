/* Base databases: the reveal dialog on detail pages, and the grid profile's charts and map.
 *
 * - Reveal: a button opens a <dialog> asking for the reason; the form posts to the reveal
 *   endpoint with Accept: application/json and the clear value replaces the masked one in
 *   place (with the birth date read from a revealed identity number: until then the page
 *   shows the age only). The server checks permission and reason and writes the audit
 *   row; this script only presents. Without JavaScript the same form posts and the page comes back with the
 *   value shown.
 * - Profile: ECharts draws the age pyramid, housing by use and organisations by kind from
 *   the page's json_script data (each chart also has a data table); Leaflet draws the
 *   region's outline and its buildings as GeoJSON (one region: small).
 */
(function () {
  "use strict";

  // --- reveal ---------------------------------------------------------------------------
  function openDialog(dialog, opener) {
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
    } else {
      dialog.setAttribute("open", "");
    }
    var area = dialog.querySelector("textarea");
    if (area) area.focus();
    dialog._opener = opener;
  }

  function closeDialog(dialog) {
    if (typeof dialog.close === "function") dialog.close();
    else dialog.removeAttribute("open");
    if (dialog._opener) dialog._opener.focus();
  }

  document.querySelectorAll("[data-reveal-open]").forEach(function (button) {
    var dialog = document.getElementById(button.getAttribute("data-reveal-open"));
    if (!dialog) return;
    button.addEventListener("click", function () { openDialog(dialog, button); });
    var cancel = dialog.querySelector("[data-reveal-cancel]");
    if (cancel) cancel.addEventListener("click", function () { closeDialog(dialog); });
  });

  document.querySelectorAll("form[data-reveal-form]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var error = form.querySelector("[data-reveal-error]");
      var submit = form.querySelector("button[type=submit]");
      error.textContent = "";
      submit.disabled = true;
      form.setAttribute("aria-busy", "true");
      fetch(form.action, {
        method: "POST",
        body: new FormData(form),
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      })
        .then(function (response) {
          return response.json().then(function (data) { return { ok: response.ok, data: data }; },
            function () { return { ok: false, data: { error: response.statusText } }; });
        })
        .then(function (result) {
          if (!result.ok) {
            error.textContent = result.data.error || "";
            return;
          }
          var target = document.getElementById(form.getAttribute("data-target"));
          if (target) {
            target.textContent = result.data.value;
            target.classList.add("pop-revealed");
          }
          // A revealed identity number brings its birth date; the page showed only the age.
          var born = document.getElementById("value-birth_date");
          var bornLabel = document.getElementById("label-birth_date");
          if (result.data.birth_date && born && bornLabel) {
            born.textContent = result.data.birth_date;
            born.hidden = false;
            bornLabel.hidden = false;
          }
          var dialog = form.closest("dialog");
          var opener = dialog && dialog._opener;
          if (dialog) closeDialog(dialog);
          if (opener) {
            opener.hidden = true;  // revealed: nothing more to reveal here
            if (target) { target.setAttribute("tabindex", "-1"); target.focus(); }
          }
        })
        .catch(function () {
          error.textContent = form.getAttribute("data-network-error") || "";
        })
        .finally(function () {
          submit.disabled = false;
          form.removeAttribute("aria-busy");
        });
    });
  });

  // --- profile --------------------------------------------------------------------------
  var dataEl = document.getElementById("profile-data");
  if (!dataEl) return;
  var data = JSON.parse(dataEl.textContent);
  var T = data.strings || {};

  function charts() {
    if (!window.echarts) return;
    var pyramidEl = document.getElementById("age-pyramid");
    if (pyramidEl) {
      var chart = window.echarts.init(pyramidEl);
      chart.setOption({
        animation: false,
        tooltip: {
          trigger: "axis",
          axisPointer: { type: "shadow" },
          valueFormatter: function (v) { return Math.abs(v) + " " + T.people; },
        },
        legend: { data: [T.men, T.women], top: 0 },
        grid: { left: 8, right: 16, bottom: 8, top: 32, containLabel: true },
        xAxis: { type: "value", axisLabel: { formatter: function (v) { return Math.abs(v); } } },
        yAxis: { type: "category", data: data.pyramid.bands, axisTick: { show: false } },
        series: [
          { name: T.men, type: "bar", stack: "total", color: "#2f6fb0",
            data: data.pyramid.men.map(function (v) { return -v; }) },
          { name: T.women, type: "bar", stack: "total", color: "#d0587e", data: data.pyramid.women },
        ],
      });
      window.addEventListener("resize", function () { chart.resize(); });
    }
    [["housing-chart", data.housingLabels, data.housingCounts, T.units],
     ["org-chart", data.orgLabels, data.orgCounts, ""]].forEach(function (spec) {
      var el = document.getElementById(spec[0]);
      if (!el) return;
      var c = window.echarts.init(el);
      c.setOption({
        animation: false,
        tooltip: { trigger: "axis", axisPointer: { type: "shadow" } },
        grid: { left: 8, right: 16, bottom: 8, top: 8, containLabel: true },
        xAxis: { type: "value", minInterval: 1 },
        yAxis: { type: "category", data: spec[1], inverse: true },
        series: [{ name: T.count, type: "bar", color: "#0b4f8a", data: spec[2] }],
      });
      window.addEventListener("resize", function () { c.resize(); });
    });
  }

  function map() {
    var el = document.getElementById("profile-map");
    var status = document.getElementById("profile-map-status");
    if (!el || !window.L) return;
    var m = window.L.map(el, { keyboard: true, zoomControl: true });
    if (data.basemapUrl) {
      window.L.tileLayer(data.basemapUrl, { attribution: data.basemapAttribution || "" }).addTo(m);
    }
    m.setView([39.95, 116.48], 11);
    function getJSON(url) {
      return fetch(url, { credentials: "same-origin" }).then(function (r) {
        if (!r.ok) throw new Error(r.status);
        return r.json();
      });
    }
    el.setAttribute("aria-busy", "true");
    Promise.all([getJSON(data.outlineUrl), getJSON(data.buildingsUrl)])
      .then(function (parts) {
        var outline = window.L.geoJSON(parts[0], {
          style: { color: "#0b4f8a", weight: 2, fillOpacity: 0.04 },
          interactive: false,
        }).addTo(m);
        var buildings = window.L.geoJSON(parts[1], {
          pointToLayer: function (_f, latlng) {
            return window.L.circleMarker(latlng, {
              radius: 5, color: "#7a4b00", weight: 1, fillColor: "#f59e0b", fillOpacity: 0.85,
            });
          },
          style: { color: "#7a4b00", weight: 1, fillColor: "#f59e0b", fillOpacity: 0.6 },
          onEachFeature: function (feature, layer) {
            var p = feature.properties || {};
            var box = document.createElement("div");
            var title = document.createElement("strong");
            title.textContent = p.address || "";
            box.appendChild(title);
            var line = document.createElement("div");
            line.textContent = T.housingUnits + " " + p.units +
              (p.residents === null || p.residents === undefined ? "" : " · " + T.residents + " " + p.residents);
            box.appendChild(line);
            layer.bindPopup(box);
          },
        }).addTo(m);
        var bounds = outline.getBounds();
        if (buildings.getLayers().length) bounds.extend(buildings.getBounds());
        if (bounds.isValid()) m.fitBounds(bounds, { padding: [12, 12] });
        if (status) status.textContent = "";
      })
      .catch(function () {
        if (status) status.textContent = T.mapFailed;
      })
      .finally(function () { el.removeAttribute("aria-busy"); });
  }

  function start() { charts(); map(); }
  // Scripts are deferred: echarts and Leaflet have loaded by DOMContentLoaded.
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
