/* Field pages: grid worker report, case actions, department inbox, hotline form.
 *
 * Everything here enhances forms that work without it: the two-level category select
 * narrows a plain <select> with optgroups, GPS and the map fill two hidden inputs, and
 * the Idempotency-Key (one per form, kept until the case is registered) makes a double
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

  // ---- location: GPS, the map, the photo's own position -----------------------------

  function PointPicker(config) {
    var self = this;
    this.lng = byId("f-lng");
    this.lat = byId("f-lat");
    this.onChange = [];
    this.mode = this.lng && this.lng.value ? "kept" : "none";
    this.map = null;
    this.marker = null;
    var node = byId("pick-map");
    if (!node || typeof L === "undefined") return;
    var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
    this.map = L.map(node, {
      center: config.center || [39.95, 116.48],
      zoom: config.zoom || 12,
      zoomAnimation: !still,
      fadeAnimation: !still,
      markerZoomAnimation: !still,
      attributionControl: true,
    });
    window.chaoyangPickMap = this.map; // for browser tests, like the territory map
    this.map.attributionControl.setPrefix(false);
    if (config.basemapUrl) {
      L.tileLayer(config.basemapUrl, { attribution: config.basemapAttribution }).addTo(this.map);
    }
    if (config.tileUrl && L.vectorGrid) {
      [["street", config.streetMinZoom, { color: "#1d4ed8", weight: 1.4, fill: false }],
       ["grid", config.gridMinZoom, { color: "#64748b", weight: 0.5, opacity: 0.6, fill: false }]]
        .forEach(function (spec) {
          var styles = {};
          styles[spec[0]] = spec[2];
          L.vectorGrid.protobuf(config.tileUrl.replace("{layer}", spec[0]), {
            rendererFactory: L.canvas.tile,
            vectorTileLayerStyles: styles,
            interactive: false,
            minZoom: spec[1],
            fetchOptions: { credentials: "same-origin" },
          }).addTo(self.map);
        });
    }
    var outlines = L.featureGroup().addTo(this.map);
    var pending = (config.codes || []).map(function (code) {
      return fetch(config.outlineUrl.replace(config.codeSlot, encodeURIComponent(code)), {
        credentials: "same-origin",
      })
        .then(function (r) {
          if (!r.ok) throw new Error(String(r.status));
          return r.json();
        })
        .then(function (feature) {
          L.geoJSON(feature, {
            interactive: false,
            style: { color: "#0b4f8a", weight: 3, fill: true, fillColor: "#0b4f8a", fillOpacity: 0.06 },
          }).addTo(outlines);
        });
    });
    this.outlines = outlines;
    Promise.all(pending).then(
      function () {
        node.setAttribute("data-outlines", "loaded");
        self.frame();
      },
      function () {
        node.setAttribute("data-outlines", "failed");
        var status = byId("gps-status") || byId("point-status");
        if (status && T.mapFailed) status.textContent = T.mapFailed;
      }
    );
    this.map.on("click", function (e) {
      self.set(e.latlng.lng, e.latlng.lat, "map");
    });
    if (this.mode === "kept") {
      this.place(parseFloat(this.lng.value), parseFloat(this.lat.value), false);
    }
  }

  // Show the worker's grid and the chosen point together, however far apart they are.
  PointPicker.prototype.frame = function () {
    var bounds = this.outlines.getLayers().length ? this.outlines.getBounds() : null;
    if (this.marker) {
      var ll = this.marker.getLatLng();
      bounds = bounds ? bounds.extend(ll) : L.latLngBounds(ll, ll);
    }
    if (bounds) this.map.fitBounds(bounds, { padding: [16, 16], maxZoom: 17 });
  };

  PointPicker.prototype.place = function (lng, lat, pan) {
    if (!this.map) return;
    var ll = L.latLng(lat, lng);
    if (!this.marker) {
      this.marker = L.circleMarker(ll, {
        radius: 9, color: "#fff", weight: 3, fillColor: "#d9480f", fillOpacity: 1,
      }).addTo(this.map);
      this.marker.bindTooltip(T.pointLabel || "");
    } else {
      this.marker.setLatLng(ll);
    }
    if (pan && !this.map.getBounds().pad(-0.1).contains(ll)) this.frame();
  };

  PointPicker.prototype.set = function (lng, lat, mode, accuracy) {
    this.mode = mode;
    // Seven decimals: a centimetre, the precision the territory is stored at.
    this.lng.value = lng.toFixed(7);
    this.lat.value = lat.toFixed(7);
    this.place(lng, lat, mode !== "map");
    var self = this;
    this.onChange.forEach(function (fn) { fn(lng, lat, mode, accuracy, self); });
  };

  function setupGeolocation(picker) {
    var box = document.querySelector("[data-geolocate]");
    if (!box) return;
    var status = byId("gps-status");
    var coords = byId("gps-coords");
    var accuracyNode = byId("gps-accuracy");
    var source = byId("gps-source");
    var retry = byId("gps-retry");
    var watch = null;
    var stopTimer = null;
    var best = null;

    picker.onChange.push(function (lng, lat, mode, accuracy) {
      coords.textContent = lng.toFixed(6) + ", " + lat.toFixed(6);
      accuracyNode.textContent = accuracy ? fmt(T.metres, { m: Math.round(accuracy) }) : "—";
      source.textContent = mode === "map" ? T.sourceMap : T.sourceGps;
      if (mode === "map") {
        status.textContent = T.mapPicked;
        stop();
      }
    });

    function stop() {
      if (watch !== null) navigator.geolocation.clearWatch(watch);
      if (stopTimer) clearTimeout(stopTimer);
      watch = null;
    }

    function noFix(message) {
      status.textContent = message;
      if (picker.mode === "none") source.textContent = T.sourcePhoto;
    }

    function start() {
      if (!("geolocation" in navigator)) {
        noFix(T.unsupported);
        return;
      }
      stop();
      best = null;
      status.textContent = T.locating;
      watch = navigator.geolocation.watchPosition(
        function (pos) {
          if (picker.mode === "map") return; // the worker's own tap wins over GPS
          var acc = pos.coords.accuracy;
          if (best !== null && acc > best) return;
          best = acc;
          picker.set(pos.coords.longitude, pos.coords.latitude, "gps", acc);
          // Good enough for a grid a few hundred metres across: stop draining the battery.
          if (acc <= 20) {
            status.textContent = T.located;
            stop();
          } else {
            status.textContent = T.improving;
          }
        },
        function (err) {
          if (best !== null) return; // keep the fix already shown
          noFix(err.code === 1 ? T.denied : T.unavailable);
          stop();
        },
        { enableHighAccuracy: true, timeout: 20000, maximumAge: 10000 }
      );
      // Stop improving after a minute; the best fix so far stays.
      stopTimer = setTimeout(function () {
        if (best !== null) status.textContent = T.located;
        stop();
      }, 60000);
    }

    if (picker.mode === "none") source.textContent = T.sourceNone;
    if (retry) retry.addEventListener("click", function () {
      picker.mode = picker.lng.value ? "kept" : "none";
      start();
    });
    start();
  }

  function setupHotlineMap(picker, config) {
    var box = document.querySelector("[data-hotline-map]");
    if (!box) return;
    var status = byId("point-status");
    var outside = byId("outside-box");
    var controller = null;
    picker.onChange.push(function (lng, lat) {
      var where = lng.toFixed(6) + ", " + lat.toFixed(6);
      status.textContent = where + " · " + T.checking;
      if (controller) controller.abort();
      controller = window.AbortController ? new AbortController() : null;
      var url = config.locateUrl + "?lng=" + lng.toFixed(7) + "&lat=" + lat.toFixed(7);
      fetch(url, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
        signal: controller ? controller.signal : undefined,
      })
        .then(function (r) {
          return r.json().then(function (body) { return { status: r.status, body: body }; });
        })
        .then(function (res) {
          if (res.status === 200) {
            var b = res.body;
            status.textContent = where + " · " + fmt(T.inside, {
              name: [b.street.name, b.community.name, b.grid.name].join(" "),
            });
            if (outside) {
              outside.hidden = true;
              byId("f-register_outside").checked = false;
            }
          } else if (res.status === 404) {
            status.textContent = where + " · " + (res.body.detail || T.outside);
            if (outside) outside.hidden = false;
          } else {
            status.textContent = where + " · " + T.locateFailed;
          }
        })
        .catch(function (err) {
          if (err && err.name === "AbortError") return;
          status.textContent = where + " · " + T.locateFailed;
        });
    });
  }

  function setupMap() {
    var configNode = byId("pick-map-config");
    if (!configNode || !byId("f-lng")) return;
    var config = JSON.parse(configNode.textContent);
    var picker = new PointPicker(config);
    setupGeolocation(picker);
    setupHotlineMap(picker, config);
  }

  setupCategories();
  setupPreviews();
  setupIdempotency();
  setupSubmit();
  setupMap();
})();
