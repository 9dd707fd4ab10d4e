/* The command centre: a map of open cases, queues, the case panel, live updates.
 *
 * - Territory outlines come from the same PostGIS vector tiles as the territory map
 *   (Leaflet.VectorGrid, non-interactive: its click handling is broken with Leaflet ≥1.8).
 * - Cases come as vector tiles too (/centre/tiles/cases/…), but are drawn by a small
 *   canvas layer of our own: clusters need their counts written on them, and one canvas
 *   per tile draws thousands of points without a Leaflet object per point. A map click
 *   asks the server for the nearest case (/centre/cases/nearest/).
 * - Queues, tables and the case panel are server-rendered fragments fetched with
 *   X-Requested-With: fetch; the same URLs give whole pages without JavaScript.
 * - Every few seconds the page polls /api/v1/cases/changes/; when anything in sight
 *   changed it refreshes the counts, the open queue, the map tiles and the open case.
 */
(function () {
  "use strict";

  var configEl = document.getElementById("centre-config");
  var config = configEl ? JSON.parse(configEl.textContent) : null;
  var stringsEl = document.getElementById("centre-strings");
  var T = stringsEl ? JSON.parse(stringsEl.textContent) : {};
  var panelEl = document.getElementById("case-panel");
  var queueEl = document.getElementById("queue-cases");
  var mapStatus = document.getElementById("map-status");
  var liveStatus = document.getElementById("live-status");

  var LIGHTS = { green: "#16a34a", yellow: "#eab308", red: "#dc2626" };
  var SUPERVISED = "#6b21a8";
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function fmt(template, values) {
    return String(template || "").replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function SessionExpired() {}

  // A fragment (HTML) from the server, whatever its status: error pages of the panel
  // carry the message to show. A redirect to the login page means the session is gone.
  function fetchFragment(url, options) {
    options = options || {};
    options.credentials = "same-origin";
    options.headers = Object.assign({ "X-Requested-With": "fetch" }, options.headers || {});
    return fetch(url, options).then(function (response) {
      if (response.redirected && /\/accounts\/login\//.test(response.url)) throw new SessionExpired();
      return response.text().then(function (html) {
        return { status: response.status, html: html };
      });
    });
  }

  function getJSON(url) {
    return fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "fetch" },
      cache: "no-store",
    }).then(function (response) {
      if (response.redirected && /\/accounts\/login\//.test(response.url)) throw new SessionExpired();
      // The API answers a lost session with 401/403 instead of a redirect.
      if (response.status === 401 || response.status === 403) throw new SessionExpired();
      if (!response.ok) throw new Error(String(response.status));
      return response.json();
    });
  }

  function showMapStatus(text) {
    if (mapStatus) mapStatus.textContent = text || "";
  }

  function fail(err) {
    if (err instanceof SessionExpired) {
      showMapStatus(T.sessionExpired);
      return;
    }
    showMapStatus(T.loadFailed);
  }

  // ---- the case panel (also used on the stand-alone case page) -------------------

  var current = { id: null, sig: null };

  function readPanel() {
    var article = panelEl && panelEl.querySelector(".case-panel");
    current.id = article ? Number(article.getAttribute("data-case-id")) : null;
    current.sig = article ? article.getAttribute("data-sig") : null;
    return article;
  }

  function markSelectedRow() {
    if (!queueEl) return;
    queueEl.querySelectorAll("tr[data-case]").forEach(function (row) {
      row.classList.toggle("is-selected", Number(row.getAttribute("data-case")) === current.id);
    });
  }

  function setPanel(html, opts) {
    opts = opts || {};
    var scroll = panelEl.scrollTop;
    panelEl.innerHTML = html;
    var article = readPanel();
    markSelectedRow();
    if (article && caseMarker) placeMarker(article, opts.pan);
    if (opts.keepScroll) panelEl.scrollTop = scroll;
    else panelEl.scrollTop = 0;
    if (opts.focus) {
      var title = panelEl.querySelector("#case-title") || panelEl;
      title.focus({ preventScroll: true });
    }
  }

  function openCase(id, opts) {
    if (!config) {
      window.location.href = String(id);
      return Promise.resolve();
    }
    opts = opts || {};
    panelEl.setAttribute("aria-busy", "true");
    return fetchFragment(config.panelUrl.replace("__id__", encodeURIComponent(id)))
      .then(function (r) {
        // A live reload whose answer comes after an action was sent would replace the
        // action's answer (its success or conflict message) with a plain panel.
        if (opts.unlessActedSince !== undefined && opts.unlessActedSince !== actionsSent) return;
        if (r.status === 200) {
          setPanel(r.html, { focus: opts.focus !== false, pan: opts.pan !== false, keepScroll: opts.keepScroll });
          updateUrl({ case: id });
        } else {
          showMapStatus(T.loadFailed);
        }
      })
      .catch(fail)
      .finally(function () {
        panelEl.setAttribute("aria-busy", "false");
      });
  }

  var actionsSent = 0; // actions submitted from the panel so far
  var actionsInFlight = 0; // ... and not answered yet: their answer will be the new panel

  function reloadPanel() {
    if (current.id && !actionsInFlight) {
      var opts = { focus: false, pan: false, keepScroll: true, unlessActedSince: actionsSent };
      return openCase(current.id, opts);
    }
    return Promise.resolve();
  }

  // A form the user has started filling: a live refresh must not throw their work away.
  function panelBeingEdited() {
    var open = panelEl.querySelector(".action-form:not([hidden])");
    if (!open) return false;
    var typed = Array.prototype.some.call(open.querySelectorAll("textarea, input[type=text], input[type=file]"), function (input) {
      return input.type === "file" ? input.files && input.files.length : input.value.trim() !== "";
    });
    return typed || open.contains(document.activeElement);
  }

  function toggleForm(button) {
    var form = document.getElementById(button.getAttribute("aria-controls"));
    if (!form) return;
    var opening = form.hidden;
    panelEl.querySelectorAll(".action-form").forEach(function (f) {
      f.hidden = true;
    });
    panelEl.querySelectorAll(".action-btn").forEach(function (b) {
      b.setAttribute("aria-expanded", "false");
    });
    if (opening) {
      form.hidden = false;
      button.setAttribute("aria-expanded", "true");
      var first = form.querySelector("select, textarea, input:not([type=hidden])");
      if (first) first.focus();
    }
  }

  function submitAction(form) {
    var message = form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) return;
    var buttons = form.querySelectorAll("button");
    buttons.forEach(function (b) {
      b.disabled = true;
    });
    panelEl.setAttribute("aria-busy", "true");
    actionsSent += 1;
    actionsInFlight += 1;
    // getAttribute: form.action would be the form's <input name="action">.
    fetchFragment(form.getAttribute("action"), { method: "POST", body: new FormData(form) })
      .then(function (r) {
        // The answer is a panel: success, field errors (400, 422), "someone else acted"
        // (409), not allowed now (422), not permitted (403); anything else (a gone case, a
        // server error) is not.
        if (r.html.indexOf('class="case-panel"') === -1) {
          buttons.forEach(function (b) {
            b.disabled = false;
          });
          showMapStatus(T.loadFailed);
          return;
        }
        setPanel(r.html, { focus: true, pan: false });
        var alert = panelEl.querySelector(".panel-msg");
        if (alert && liveStatus) liveStatus.textContent = alert.textContent.trim();
        if (config && (r.status === 200 || r.status === 409 || r.status === 422)) refreshAll();
      })
      .catch(function (err) {
        buttons.forEach(function (b) {
          b.disabled = false;
        });
        fail(err);
      })
      .finally(function () {
        actionsInFlight -= 1;
        panelEl.setAttribute("aria-busy", "false");
      });
  }

  if (panelEl) {
    readPanel();
    panelEl.addEventListener("click", function (e) {
      var button = e.target.closest("button");
      if (button && button.classList.contains("action-btn")) {
        toggleForm(button);
        return;
      }
      if (button && button.classList.contains("action-cancel")) {
        var form = button.closest("form");
        form.hidden = true;
        var opener = panelEl.querySelector('[aria-controls="' + form.id + '"]');
        if (opener) {
          opener.setAttribute("aria-expanded", "false");
          opener.focus();
        }
        return;
      }
      if (button && button.hasAttribute("data-reload-panel")) {
        reloadPanel();
        return;
      }
      var link = e.target.closest("a.case-link");
      if (link && config) {
        e.preventDefault();
        openCase(link.getAttribute("data-case"));
      }
    });
    panelEl.addEventListener("submit", function (e) {
      var form = e.target;
      if (!form.classList.contains("action-form") && !form.classList.contains("merge-form")) return;
      e.preventDefault();
      submitAction(form);
    });
  }

  if (!config) return; // the stand-alone case page: no map, no queues, no polling

  // ---- the address bar mirrors what is shown, so a reload keeps the place ----------

  var state = { queue: null, page: null, case: null };
  (function () {
    var params = new URLSearchParams(window.location.search);
    var currentLink = document.querySelector(".queue-link.is-current");
    state.queue = params.get("queue") || (currentLink && currentLink.getAttribute("data-queue"));
    state.page = params.get("page");
    state.case = params.get("case");
  })();

  function updateUrl(changes) {
    Object.assign(state, changes);
    var params = new URLSearchParams();
    if (state.queue) params.set("queue", state.queue);
    if (state.page && state.page !== "1") params.set("page", state.page);
    if (state.case) params.set("case", state.case);
    if (window.history && history.replaceState) history.replaceState(null, "", "?" + params.toString());
  }

  // ---- queues and the queue's cases ------------------------------------------------

  function loadQueue(key, page, opts) {
    opts = opts || {};
    var url = config.queueUrl.replace("__q__", encodeURIComponent(key)) + (page ? "?page=" + encodeURIComponent(page) : "");
    if (!opts.quiet) queueEl.setAttribute("aria-busy", "true");
    return fetchFragment(url)
      .then(function (r) {
        if (r.status !== 200) throw new Error(String(r.status));
        var scroll = queueEl.scrollTop;
        queueEl.innerHTML = r.html;
        markSelectedRow();
        if (opts.quiet) queueEl.scrollTop = scroll;
        else {
          queueEl.scrollTop = 0;
          var title = queueEl.querySelector("#queue-title");
          if (title && opts.focus) title.focus();
        }
        document.querySelectorAll(".queue-link").forEach(function (a) {
          var on = a.getAttribute("data-queue") === key;
          a.classList.toggle("is-current", on);
          if (on) a.setAttribute("aria-current", "true");
          else a.removeAttribute("aria-current");
        });
        updateUrl({ queue: key, page: page || null });
      })
      .catch(fail)
      .finally(function () {
        queueEl.setAttribute("aria-busy", "false");
      });
  }

  document.querySelector(".queue-list").addEventListener("click", function (e) {
    var link = e.target.closest("a.queue-link");
    if (!link) return;
    e.preventDefault();
    loadQueue(link.getAttribute("data-queue"), null, { focus: true });
  });

  queueEl.addEventListener("click", function (e) {
    var pageLink = e.target.closest("a.page-link");
    if (pageLink) {
      e.preventDefault();
      loadQueue(pageLink.getAttribute("data-queue"), pageLink.getAttribute("data-page"), { focus: true });
      return;
    }
    var row = e.target.closest("tr[data-case]");
    if (!row) return;
    e.preventDefault();
    openCase(row.getAttribute("data-case"));
  });

  function setCounts(counts) {
    Object.keys(counts).forEach(function (key) {
      document.querySelectorAll('[data-count="' + key + '"]').forEach(function (node) {
        var text = String(counts[key]);
        if (node.textContent === text) return;
        node.textContent = text;
        node.classList.toggle("is-zero", counts[key] === 0 && node.classList.contains("queue-count"));
        if (!still) {
          node.classList.remove("is-bumped");
          void node.offsetWidth; // restart the animation
          node.classList.add("is-bumped");
        }
      });
    });
  }

  // ---- the map -------------------------------------------------------------------

  var map = L.map("map", {
    center: config.center,
    zoom: config.zoom,
    minZoom: config.minZoom,
    maxZoom: config.maxZoom,
    keyboard: true,
    preferCanvas: true,
    zoomAnimation: !still,
    fadeAnimation: !still,
    markerZoomAnimation: !still,
    inertia: !still,
  });
  window.chaoyangMap = map; // for the console and browser tests
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(T.synthetic);
  if (config.basemapUrl) {
    L.tileLayer(config.basemapUrl, { attribution: config.basemapAttribution, maxZoom: config.maxZoom }).addTo(map);
  }
  [
    ["grids", 410],
    ["communities", 420],
    ["streets", 430],
    ["districts", 440],
    ["home", 445],
    ["cases", 460],
    ["selected", 470],
  ].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = pane[1];
    map.getPane(pane[0]).style.pointerEvents = "none"; // clicks go to the map
  });

  var outlines = {
    district: function (props) {
      return props.code === config.regionCode.slice(0, 6)
        ? { color: "#0b4f8a", weight: 2.5, opacity: 1, fill: false }
        : { color: "#8796a5", weight: 1, fill: true, fillColor: "#d9dfe6", fillOpacity: 0.7 };
    },
    street: { color: "#1d4ed8", weight: 1.4, opacity: 0.8, fill: false },
    community: { color: "#2563eb", weight: 0.8, opacity: 0.55, fill: false, dashArray: "4 3" },
    grid: { color: "#64748b", weight: 0.5, opacity: 0.5, fill: false },
  };
  var MIN_ZOOMS = { district: 0, street: 8, community: 12, grid: 14 };
  var PANES = { district: "districts", street: "streets", community: "communities", grid: "grids" };
  Object.keys(PANES).forEach(function (layer) {
    var styles = {};
    styles[layer] = outlines[layer];
    L.vectorGrid
      .protobuf(config.gridTileUrl.replace("{layer}", layer), {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles,
        interactive: false,
        pane: PANES[layer],
        minZoom: MIN_ZOOMS[layer],
        maxZoom: config.maxZoom,
        fetchOptions: { credentials: "same-origin" },
      })
      .addTo(map);
  });

  // The centre's own street, drawn over the rest so its border reads at a glance.
  if (config.level === "street") {
    fetch(config.outlineUrl, { credentials: "same-origin" })
      .then(function (r) {
        return r.ok ? r.json() : null;
      })
      .then(function (feature) {
        if (!feature) return;
        L.geoJSON(feature, {
          pane: "home",
          interactive: false,
          style: { color: "#0b4f8a", weight: 3, opacity: 0.9, fill: true, fillColor: "#0b4f8a", fillOpacity: 0.03 },
        }).addTo(map);
      })
      .catch(function () {});
  }

  if (config.bbox) {
    var b = config.bbox;
    map.fitBounds([[b[1], b[0]], [b[3], b[2]]], { padding: [16, 16], animate: false });
  }

  // ---- a minimal Mapbox Vector Tile reader (points and properties are all we need) ----

  function Reader(buf) {
    this.buf = buf;
    this.pos = 0;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  Reader.prototype.varint = function () {
    var result = 0;
    var mul = 1;
    var byte;
    do {
      byte = this.buf[this.pos++];
      result += (byte & 0x7f) * mul;
      mul *= 128;
    } while (byte & 0x80);
    return result;
  };
  Reader.prototype.bytes = function () {
    var len = this.varint();
    var out = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return out;
  };
  Reader.prototype.skip = function (wire) {
    if (wire === 0) this.varint();
    else if (wire === 1) this.pos += 8;
    else if (wire === 2) this.pos += this.varint();
    else if (wire === 5) this.pos += 4;
    else throw new Error("wire type " + wire);
  };
  var utf8 = new TextDecoder();
  function zigzag(n) {
    return n % 2 === 1 ? -(n + 1) / 2 : n / 2;
  }
  function readValue(buf) {
    var r = new Reader(buf);
    var value = null;
    while (r.pos < buf.length) {
      var tag = r.varint();
      var field = tag >> 3;
      if (field === 1) value = utf8.decode(r.bytes());
      else if (field === 2) { value = r.view.getFloat32(r.pos, true); r.pos += 4; }
      else if (field === 3) { value = r.view.getFloat64(r.pos, true); r.pos += 8; }
      else if (field === 4 || field === 5) value = r.varint();
      else if (field === 6) value = zigzag(r.varint());
      else if (field === 7) value = r.varint() === 1;
      else r.skip(tag & 7);
    }
    return value;
  }
  function packed(buf) {
    var r = new Reader(buf);
    var out = [];
    while (r.pos < buf.length) out.push(r.varint());
    return out;
  }
  // Tile → { layerName: { extent, features: [{ props, points: [[x, y], …] }] } }
  function decodeTile(buf) {
    var tile = {};
    var r = new Reader(buf);
    while (r.pos < buf.length) {
      var tag = r.varint();
      if (tag >> 3 !== 3) { r.skip(tag & 7); continue; }
      var lr = new Reader(r.bytes());
      var layer = { name: "", extent: 4096, keys: [], values: [], raw: [] };
      while (lr.pos < lr.buf.length) {
        var ltag = lr.varint();
        var lf = ltag >> 3;
        if (lf === 1) layer.name = utf8.decode(lr.bytes());
        else if (lf === 2) layer.raw.push(lr.bytes());
        else if (lf === 3) layer.keys.push(utf8.decode(lr.bytes()));
        else if (lf === 4) layer.values.push(readValue(lr.bytes()));
        else if (lf === 5) layer.extent = lr.varint();
        else lr.skip(ltag & 7);
      }
      layer.features = layer.raw.map(function (fbuf) {
        var fr = new Reader(fbuf);
        var tags = [];
        var geometry = [];
        while (fr.pos < fbuf.length) {
          var ftag = fr.varint();
          var ff = ftag >> 3;
          if (ff === 2) tags = packed(fr.bytes());
          else if (ff === 4) geometry = packed(fr.bytes());
          else fr.skip(ftag & 7);
        }
        var props = {};
        for (var i = 0; i + 1 < tags.length; i += 2) props[layer.keys[tags[i]]] = layer.values[tags[i + 1]];
        var points = [];
        var x = 0;
        var y = 0;
        for (var g = 0; g < geometry.length; ) {
          var cmd = geometry[g++];
          var count = cmd >> 3;
          if ((cmd & 7) !== 1) break; // points only: MoveTo
          for (var k = 0; k < count; k++) {
            x += zigzag(geometry[g++]);
            y += zigzag(geometry[g++]);
            points.push([x, y]);
          }
        }
        return { props: props, points: points };
      });
      delete layer.raw;
      tile[layer.name] = layer;
    }
    return tile;
  }

  // ---- the case layer: one canvas per tile ----------------------------------------

  function drawCluster(ctx, x, y, p) {
    var count = p.count || 0;
    var red = p.red || 0;
    var yellow = p.yellow || 0;
    var r = Math.min(26, 11 + 3.2 * Math.log2(Math.max(count, 1)));
    var parts = [
      [red, LIGHTS.red],
      [yellow, LIGHTS.yellow],
      [count - red - yellow, LIGHTS.green],
    ];
    var start = -Math.PI / 2;
    parts.forEach(function (part) {
      if (part[0] <= 0) return;
      var end = start + (2 * Math.PI * part[0]) / count;
      ctx.beginPath();
      ctx.moveTo(x, y);
      ctx.arc(x, y, r, start, end);
      ctx.closePath();
      ctx.fillStyle = part[1];
      ctx.fill();
      start = end;
    });
    ctx.beginPath();
    ctx.arc(x, y, r - 5, 0, 2 * Math.PI);
    ctx.fillStyle = "rgba(255,255,255,0.95)";
    ctx.fill();
    ctx.fillStyle = "#1f2933";
    ctx.font = "700 " + (count >= 1000 ? 10 : 12) + "px system-ui, sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(count >= 10000 ? Math.round(count / 1000) + "k" : String(count), x, y + 0.5);
  }

  function drawPoint(ctx, x, y, p, zoom) {
    var r = zoom >= 17 ? 7 : zoom >= 15 ? 6 : 5;
    if (p.supervised) {
      ctx.beginPath();
      ctx.arc(x, y, r + 3, 0, 2 * Math.PI);
      ctx.strokeStyle = SUPERVISED;
      ctx.lineWidth = 2.5;
      ctx.stroke();
    }
    ctx.beginPath();
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    ctx.fillStyle = LIGHTS[p.light] || LIGHTS.green;
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 1.5;
    ctx.stroke();
  }

  var CaseLayer = L.GridLayer.extend({
    createTile: function (coords, done) {
      var size = this.getTileSize();
      var ratio = window.devicePixelRatio || 1;
      var canvas = L.DomUtil.create("canvas", "case-tile");
      canvas.width = size.x * ratio;
      canvas.height = size.y * ratio;
      canvas.style.width = size.x + "px";
      canvas.style.height = size.y + "px";
      this._load(canvas, coords).then(
        function () {
          done(null, canvas);
        },
        function (err) {
          done(err, canvas);
        }
      );
      return canvas;
    },
    _url: function (coords) {
      return config.caseTileUrl.replace("{z}", coords.z).replace("{x}", coords.x).replace("{y}", coords.y);
    },
    // Fetch and draw; the old picture stays until the new one is ready (no flicker).
    _load: function (canvas, coords) {
      return fetch(this._url(coords), { credentials: "same-origin" })
        .then(function (response) {
          if (response.redirected) throw new SessionExpired();
          if (!response.ok) throw new Error(String(response.status));
          return response.arrayBuffer();
        })
        .then(function (buffer) {
          var tile = decodeTile(new Uint8Array(buffer));
          var size = canvas.width;
          var ctx = canvas.getContext("2d");
          var ratio = window.devicePixelRatio || 1;
          ctx.setTransform(1, 0, 0, 1, 0, 0);
          ctx.clearRect(0, 0, size, size);
          ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
          var px = size / ratio;
          ["clusters", "cases"].forEach(function (name) {
            var layer = tile[name];
            if (!layer) return;
            var scale = px / layer.extent;
            layer.features.forEach(function (f) {
              f.points.forEach(function (pt) {
                if (name === "clusters") drawCluster(ctx, pt[0] * scale, pt[1] * scale, f.props);
                else drawPoint(ctx, pt[0] * scale, pt[1] * scale, f.props, coords.z);
              });
            });
          });
        });
    },
    refresh: function () {
      var self = this;
      var jobs = [];
      Object.keys(this._tiles).forEach(function (key) {
        var t = self._tiles[key];
        if (t.current) jobs.push(self._load(t.el, t.coords).catch(function () {}));
      });
      return Promise.all(jobs);
    },
  });
  var caseLayer = new CaseLayer({ pane: "cases", maxZoom: config.maxZoom, updateWhenZooming: false });
  caseLayer.on("tileerror", function (e) {
    fail(e.error);
  });
  caseLayer.addTo(map);

  var caseMarker = L.circleMarker([0, 0], {
    pane: "selected",
    interactive: false,
    radius: 13,
    color: "#f59e0b",
    weight: 4,
    fill: false,
  });

  function placeMarker(article, pan) {
    var lat = parseFloat(article.getAttribute("data-lat"));
    var lng = parseFloat(article.getAttribute("data-lng"));
    if (isNaN(lat) || isNaN(lng)) {
      caseMarker.remove();
      return;
    }
    caseMarker.setLatLng([lat, lng]).addTo(map);
    if (pan && !map.getBounds().pad(-0.1).contains([lat, lng])) map.panTo([lat, lng], { animate: !still });
  }
  if (panelEl.querySelector(".case-panel")) placeMarker(panelEl.querySelector(".case-panel"), true);

  var ZoomHint = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "map-zoom-hint");
      this._div.textContent = T.zoomForCases;
      return this._div;
    },
    update: function (zoom) {
      this._div.hidden = zoom >= config.pointMinZoom;
    },
  });
  var zoomHint = new ZoomHint().addTo(map);
  map.on("zoomend", function () {
    zoomHint.update(map.getZoom());
  });
  zoomHint.update(map.getZoom());

  // A click on clusters zooms in; on single cases it opens the nearest one.
  map.on("click", function (e) {
    var zoom = map.getZoom();
    if (zoom < config.pointMinZoom) {
      map.setView(e.latlng, Math.min(zoom + 2, config.pointMinZoom), { animate: !still });
      return;
    }
    var url =
      config.nearestUrl + "?lng=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7) + "&zoom=" + zoom;
    showMapStatus(T.loading);
    getJSON(url)
      .then(function (body) {
        if (!body.case) {
          showMapStatus(T.noCaseHere);
          return;
        }
        showMapStatus("");
        openCase(body.case.id, { pan: false });
      })
      .catch(fail);
  });

  // ---- live updates ----------------------------------------------------------------

  var OVERLAP_MS = 10000; // re-ask a little of the past: a slow commit lands a bit late
  var since = new Date(Date.parse(config.since) - OVERLAP_MS).toISOString();
  var seen = {}; // case id → signature already acted on
  var liveLine = document.querySelector(".live-line");
  var liveTime = document.getElementById("live-time");

  function signature(c) {
    return c.version + "-" + c.light + "-" + (c.supervised ? 1 : 0);
  }

  function refreshCounts() {
    return getJSON(config.countsUrl).then(setCounts).catch(fail);
  }

  function refreshAll() {
    refreshCounts();
    caseLayer.refresh();
    if (state.queue) loadQueue(state.queue, state.page, { quiet: true });
  }

  function onChanges(rows) {
    var changed = rows.filter(function (c) {
      var sig = signature(c);
      if (seen[c.id] === sig) return false;
      seen[c.id] = sig;
      return true;
    });
    if (!changed.length) return;
    refreshAll();
    var mine = changed.filter(function (c) {
      return c.id === current.id;
    })[0];
    if (mine && signature(mine) !== current.sig) {
      if (panelBeingEdited()) {
        var notice = panelEl.querySelector("[data-notice]");
        if (notice) notice.hidden = false;
      } else {
        reloadPanel().then(function () {
          if (liveStatus) liveStatus.textContent = T.updated;
        });
      }
    }
  }

  function poll() {
    getJSON(config.changesUrl + "?since=" + encodeURIComponent(since))
      .then(function (body) {
        since = new Date(Date.parse(body.now) - OVERLAP_MS).toISOString();
        onChanges(body.cases || []);
        liveLine.classList.remove("is-offline");
        document.getElementById("live-text").textContent = T.live;
        liveTime.textContent = new Date(Date.parse(body.now)).toLocaleTimeString();
      })
      .catch(function (err) {
        liveLine.classList.add("is-offline");
        document.getElementById("live-text").textContent =
          err instanceof SessionExpired ? T.sessionExpired : T.networkError;
      })
      .finally(function () {
        window.setTimeout(poll, config.pollMs);
      });
  }
  window.setTimeout(poll, config.pollMs);
})();
