/* Field pages with a map: the grid worker's report (GPS, tap to pick) and the hotline form
 * (click to pick, the server says which grid or that the point is outside the district).
 *
 * No basemap is needed: the worker's grid and the street boundaries come from our own
 * data. The point goes to the server as WGS 84, the frame the map draws in.
 */
(function () {
  "use strict";

  var F = window.chaoyangField;
  var T = F.T;
  var fmt = F.fmt;
  var byId = F.byId;

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
      // Neighbouring districts greyed out, as on the territory map: a click there is
      // plainly outside.
      var district = function (props) {
        return props.code === config.homeCode
          ? { color: "#0b4f8a", weight: 3, fill: false }
          : { color: "#8796a5", weight: 1, fill: true, fillColor: "#d9dfe6", fillOpacity: 0.8 };
      };
      [["district", 0, district],
       ["street", config.streetMinZoom, { color: "#1d4ed8", weight: 1.4, fill: false }],
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


  setupMap();
})();
