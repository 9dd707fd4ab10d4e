#!/usr/bin/env bash
# Copy the pinned front-end libraries' dist files into static/vendor/ (git-ignored).
set -euo pipefail
nm=chaoyang/frontend/node_modules
out=static/vendor
rm -rf "$out"; mkdir -p "$out"
cp "$nm/htmx.org/dist/htmx.min.js" "$out/"
cp "$nm/leaflet.vectorgrid/dist/Leaflet.VectorGrid.bundled.min.js" "$out/"
cp "$nm/echarts/dist/echarts.min.js" "$out/"
for pkg in htmx.org leaflet.vectorgrid echarts; do
  cp "$nm/$pkg/LICENSE"* "$out/LICENSE.$pkg" 2>/dev/null || true
done
