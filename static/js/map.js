/* The territory map: vector tiles from PostGIS, drill-down by click or keyboard.
 *
 * Vector layers stay non-interactive: Leaflet.VectorGrid's own click handling calls
 * L.DomEvent.fakeStop, which Leaflet 1.8 removed. A map click asks the server which
 * region lies under the point instead (/api/v1/grids/locate/), which is also the answer
 * a grid worker's phone gets, so the map and the API cannot disagree.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("map-config").textContent);
  var T = JSON.parse(document.getElementById("map-strings").textContent);

  var LEVEL = { DISTRICT: 1, STREET: 2, COMMUNITY: 3, GRID: 4 };

  var els = {
    detail: document.getElementById("region-detail"),
    status: document.getElementById("map-status"),
    error: document.getElementById("map-error"),
    searchForm: document.getElementById("region-search"),
    searchInput: document.getElementById("region-q"),
    results: document.getElementById("search-results"),
  };

  // ---- small helpers -------------------------------------------------------------

  function fmt(template, values) {
    return String(template).replace(/%\((\w+)\)s/g, function (_, key) {
      return values[key] === undefined ? "" : String(values[key]);
    });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child) node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function withCode(template, code) {
    return template.replace(config.codeSlot, encodeURIComponent(code));
  }

  function FetchError(message, status) {
    this.message = message;
    this.status = status;
  }

  // Fetch JSON; turn every failure into a FetchError whose message can be shown as is.
  function getJSON(url, signal) {
    return fetch(url, {
      signal: signal,
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(
      function (response) {
        var type = response.headers.get("Content-Type") || "";
        // An expired session redirects to the login page: HTML, not JSON.
        if (type.indexOf("json") === -1) {
          throw new FetchError(T.loadFailed, response.status);
        }
        return response.json().then(function (body) {
          if (!response.ok) {
            var detail = body && typeof body.detail === "string" ? body.detail : null;
            throw new FetchError(
              detail || (response.status === 404 ? T.notFound : T.loadFailed),
              response.status
            );
          }
          return body;
        });
      },
      function (err) {
        if (err && err.name === "AbortError") throw err;
        throw new FetchError(T.networkError, 0);
      }
    );
  }

  // A counter, not a flag: a search and a selection may be in flight together. The status
  // line is the page's one polite live region: "loading", then what was selected.
  var pending = 0;
  var announcement = "";
  function busy(delta) {
    pending = Math.max(0, pending + delta);
    els.status.textContent = pending ? T.loading : announcement;
    els.status.classList.toggle("is-loading", pending > 0);
    document.body.classList.toggle("map-busy", pending > 0);
  }

  function announce(message) {
    announcement = message;
    if (!pending) els.status.textContent = message;
  }

  function showError(message) {
    els.error.textContent = message;
    els.error.hidden = !message;
  }

  function formatArea(m2) {
    var km2 = (Number(m2) || 0) / 1e6;
    var digits = km2 >= 10 ? 1 : km2 >= 0.1 ? 2 : 3;
    return km2.toFixed(digits) + " " + T.areaUnit;
  }

  // ---- the map -------------------------------------------------------------------

  // Leaflet ignores the system setting; honour it, and tests use it to get a still map.
  var still = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  var map = L.map("map", {
    center: config.center,
    zoom: config.zoom,
    minZoom: config.minZoom,
    maxZoom: config.maxZoom,
    zoomControl: true,
    keyboard: true,
    preferCanvas: true,
    zoomAnimation: !still,
    fadeAnimation: !still,
    markerZoomAnimation: !still,
    inertia: !still,
  });
  // For the browser console and browser tests (they turn lng/lat into a pixel to click).
  window.chaoyangMap = map;
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(T.synthetic);

  if (config.basemapUrl) {
    L.tileLayer(config.basemapUrl, {
      attribution: config.basemapAttribution,
      maxZoom: config.maxZoom,
    }).addTo(map);
  }

  // Panes fix the drawing order whatever order the tiles arrive in: finer levels below.
  [
    ["grids", 410],
    ["communities", 420],
    ["streets", 430],
    ["districts", 440],
    ["highlight", 450],
  ].forEach(function (pane) {
    map.createPane(pane[0]).style.zIndex = pane[1];
    // Clicks go through to the map, which asks the server what lies beneath.
    map.getPane(pane[0]).style.pointerEvents = "none";
  });

  var STYLES = {
    district: function (props) {
      if (props.code === config.homeCode) {
        return { color: "#0b4f8a", weight: 3, opacity: 1, fill: false };
      }
      // Neighbouring districts are context only: greyed out.
      return {
        color: "#8796a5",
        weight: 1,
        opacity: 1,
        fill: true,
        fillColor: "#d9dfe6",
        fillOpacity: 0.7,
      };
    },
    street: { color: "#1d4ed8", weight: 1.6, opacity: 0.9, fill: false },
    community: { color: "#2563eb", weight: 0.9, opacity: 0.7, fill: false, dashArray: "4 3" },
    grid: { color: "#64748b", weight: 0.5, opacity: 0.6, fill: false },
  };
  var PANES = { district: "districts", street: "streets", community: "communities", grid: "grids" };

  Object.keys(PANES).forEach(function (layer) {
    var styles = {};
    styles[layer] = STYLES[layer];
    L.vectorGrid
      .protobuf(config.tileUrl.replace("{layer}", layer), {
        rendererFactory: L.canvas.tile,
        vectorTileLayerStyles: styles,
        interactive: false,
        pane: PANES[layer],
        minZoom: config.minZooms[layer],
        maxZoom: config.maxZoom,
        fetchOptions: { credentials: "same-origin" },
      })
      .addTo(map);
  });

  var highlight = L.geoJSON(null, {
    pane: "highlight",
    interactive: false,
    style: function (feature) {
      // A tinted district would wash out every line inside it; tint only smaller regions.
      var whole = feature && feature.properties && feature.properties.level === LEVEL.DISTRICT;
      return { color: "#f59e0b", weight: 3.5, opacity: 1, fill: !whole, fillColor: "#f59e0b", fillOpacity: 0.14 };
    },
  }).addTo(map);

  // A hint while grids are hidden, so an empty-looking map explains itself.
  var ZoomHint = L.Control.extend({
    options: { position: "bottomleft" },
    onAdd: function () {
      this._div = L.DomUtil.create("div", "map-zoom-hint");
      this._div.textContent = T.zoomIn;
      return this._div;
    },
    update: function (zoom) {
      this._div.hidden = zoom >= config.minZooms.grid;
    },
  });
  var zoomHint = new ZoomHint().addTo(map);
  map.on("zoomend", function () {
    zoomHint.update(map.getZoom());
  });
  zoomHint.update(map.getZoom());

  // ---- the side panel ------------------------------------------------------------

  var current = null; // the selected region's detail, as the API returned it
  var selection = { token: 0, controller: null };

  function codeButton(region, extra) {
    return el("button", { type: "button", className: "region-link", "data-code": region.code }, [
      el("span", { className: "region-name", text: region.name }),
      extra ? el("span", { className: "region-extra", text: extra }) : null,
      el("span", { className: "region-code", text: region.code }),
    ]);
  }

  function renderDetail(region) {
    var crumbs = el("ol", { className: "breadcrumb" });
    region.ancestors.forEach(function (a) {
      crumbs.appendChild(el("li", {}, [codeButton(a)]));
    });
    crumbs.appendChild(el("li", {}, [el("span", { "aria-current": "location", text: region.name })]));

    var facts = el("dl", { className: "region-facts" }, [
      el("dt", { text: T.code }),
      el("dd", { className: "mono", text: region.code }),
      el("dt", { text: T.level }),
      // "街道/乡 · 地区" says which of the two it is; "区 · 区" would say nothing.
      el("dd", {
        text: region.level_display + (region.kind && region.kind !== region.level_display ? " · " + region.kind : ""),
      }),
      el("dt", { text: T.area }),
      el("dd", { text: formatArea(region.area_m2) }),
      el("dt", { text: T.responsible }),
      el("dd", { text: region.responsible || T.responsibleDefault }),
    ]);

    var children = [];
    if (region.children.length) {
      var list = el("ul", { className: "child-list" });
      region.children.forEach(function (c) {
        list.appendChild(el("li", {}, [codeButton(c)]));
      });
      var label = T.children[String(region.level)] || "";
      children.push(el("h3", { id: "children-title", text: fmt(label, { count: region.children.length }) }));
      children.push(list);
    } else {
      children.push(el("p", { className: "muted", text: T.noChildren }));
    }

    var heading = el("h2", { id: "region-name", tabindex: "-1", text: region.name });
    // replaceChildren would turn a null into the text "null": drop the parts not shown.
    var parts = [
      region.ancestors.length ? el("nav", { "aria-label": T.breadcrumb }, [crumbs]) : null,
      heading,
      region.synthetic ? el("p", { className: "badge-synthetic", text: T.synthetic }) : null,
      facts,
    ].concat(children);
    els.detail.replaceChildren.apply(els.detail, parts.filter(Boolean));
  }

  function fitTo(region) {
    var b = region.bbox; // [west, south, east, north]
    if (!b || b.length !== 4) return;
    map.fitBounds(
      [
        [b[1], b[0]],
        [b[3], b[2]],
      ],
      { padding: [24, 24], maxZoom: 17, animate: !still }
    );
  }

  function select(code, opts) {
    opts = opts || {};
    if (selection.controller) selection.controller.abort();
    var controller = new AbortController();
    var token = ++selection.token;
    selection.controller = controller;
    busy(1);
    els.detail.setAttribute("aria-busy", "true");
    return Promise.all([
      getJSON(withCode(config.detailUrl, code), controller.signal),
      getJSON(withCode(config.outlineUrl, code), controller.signal).catch(function (err) {
        // The outline only decorates; the panel is still useful without it.
        if (err && err.name === "AbortError") throw err;
        return null;
      }),
    ])
      .then(function (answers) {
        if (token !== selection.token) return;
        var region = answers[0];
        current = region;
        showError("");
        renderDetail(region);
        highlight.clearLayers();
        if (answers[1]) highlight.addData(answers[1]);
        if (opts.fit !== false) fitTo(region);
        if (opts.focus) document.getElementById("region-name").focus();
        announce(fmt(T.selected, { name: region.name }));
        if (window.history && history.replaceState) {
          history.replaceState(null, "", "#" + encodeURIComponent(region.code));
        }
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        if (token === selection.token) showError(err.message || T.loadFailed);
      })
      .finally(function () {
        busy(-1);
        if (token === selection.token) els.detail.setAttribute("aria-busy", "false");
      });
  }

  // Which region a click at this point selects: one level below the deepest region the
  // point shares with the current selection. Inside the selected street → its community;
  // in another street → that street; inside the selected community → the grid.
  function drillTarget(location) {
    var path = [location.district.code, location.street.code, location.community.code, location.grid.code];
    var chosen = current ? current.ancestors.map(function (a) { return a.code; }).concat([current.code]) : [config.homeCode];
    var shared = 0;
    while (shared < chosen.length && shared < path.length && chosen[shared] === path[shared]) shared++;
    return path[Math.max(LEVEL.STREET - 1, Math.min(shared, LEVEL.GRID - 1))];
  }

  var locating = null;
  map.on("click", function (e) {
    if (locating) locating.abort();
    var controller = new AbortController();
    locating = controller;
    var url = config.locateUrl + "?lng=" + e.latlng.lng.toFixed(7) + "&lat=" + e.latlng.lat.toFixed(7);
    busy(1);
    getJSON(url, controller.signal)
      .then(function (location) {
        return select(drillTarget(location), { fit: true });
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        // A 404 carries the server's words ("outside Chaoyang, in Dongcheng"): show them.
        showError(err.message || T.outside);
      })
      .finally(function () {
        busy(-1);
      });
  });

  // One delegated handler for every region button: breadcrumb, children, search results.
  document.querySelector(".map-panel").addEventListener("click", function (e) {
    var button = e.target.closest("button.region-link");
    if (!button) return;
    select(button.getAttribute("data-code"), { focus: true });
  });

  // ---- search --------------------------------------------------------------------

  var searching = null;
  els.searchForm.addEventListener("submit", function (e) {
    e.preventDefault();
    var q = els.searchInput.value.trim();
    if (!q) {
      els.results.hidden = false;
      els.results.replaceChildren(el("p", { className: "muted", text: T.emptyQuery }));
      return;
    }
    if (searching) searching.abort();
    var controller = new AbortController();
    searching = controller;
    busy(1);
    getJSON(config.searchUrl + "?q=" + encodeURIComponent(q), controller.signal)
      .then(function (page) {
        var found = page.results || [];
        var nodes = [el("p", { className: "muted", text: fmt(T.resultsCount, { count: page.count }) })];
        if (!found.length) {
          nodes = [el("p", { className: "muted", text: T.noResults })];
        } else {
          var list = el("ul", { className: "result-list" });
          found.forEach(function (r) {
            list.appendChild(el("li", {}, [codeButton(r, r.level_display)]));
          });
          nodes.push(list);
          if (page.count > found.length) {
            nodes.push(el("p", { className: "muted", text: fmt(T.resultsMore, { shown: found.length }) }));
          }
        }
        els.results.hidden = false;
        els.results.replaceChildren.apply(els.results, nodes);
        showError("");
        // One match: select it straight away, as a code search usually means.
        if (found.length === 1) select(found[0].code, { focus: true });
      })
      .catch(function (err) {
        if (err && err.name === "AbortError") return;
        showError(err.message || T.loadFailed);
      })
      .finally(function () {
        busy(-1);
      });
  });

  // ---- start ---------------------------------------------------------------------

  var fromHash = decodeURIComponent(window.location.hash.replace(/^#/, ""));
  select(/^\d{6,15}$/.test(fromHash) ? fromHash : config.homeCode, { fit: true });
})();
