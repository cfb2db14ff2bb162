/* The offline base map (civicstat/maps/basemap.py, `manage.py build_basemap`): roads, area
   outlines and parcel dots drawn on canvas tiles, with the areas' names on top, from small files
   of this site; no tile server. map.js calls window.civicstatBasemap(map, config.basemap) when
   MAP_TILE_URL is not set.

   Files: roads-<band>.json and areas-<band>.json hold lines as [x0, y0, dx1, dy1, …] in 1e-5
   degrees; parcels/<z>/<x>/<y>.json the parcel points of one web-map tile, the same way. The
   parcels are fetched per tile in view and only at block zooms: 96,000 of them would not fit a
   phone's data plan or its memory at the city view. */
(function () {
  "use strict";
  if (!window.L) return;

  var SCALE = 1e5;
  var LAND = "#f3f0ea";
  var cache = {};

  function load(url) {
    if (!cache[url]) {
      cache[url] = fetch(url).then(function (r) {
        if (!r.ok) throw new Error(url + ": " + r.status);
        return r.json();
      });
    }
    return cache[url];
  }

  // Web Mercator, as a fraction of the world's width (0…1): once per vertex, not per tile.
  function mx(lon) { return lon / 360 + 0.5; }
  function my(lat) {
    var s = Math.sin(lat * Math.PI / 180);
    return 0.5 - Math.log((1 + s) / (1 - s)) / (4 * Math.PI);
  }

  // [x0, y0, dx1, dy1, …] in 1e-5 degrees → projected points and their bounding box.
  function prepare(enc) {
    var pts = new Float64Array(enc.length), x = 0, y = 0;
    var box = [Infinity, Infinity, -Infinity, -Infinity];
    for (var i = 0; i < enc.length; i += 2) {
      x += enc[i]; y += enc[i + 1];
      var px = mx(x / SCALE), py = my(y / SCALE);
      pts[i] = px; pts[i + 1] = py;
      if (px < box[0]) box[0] = px;
      if (py < box[1]) box[1] = py;
      if (px > box[2]) box[2] = px;
      if (py > box[3]) box[3] = py;
    }
    return { pts: pts, box: box };
  }

  function band(bands, zoom) {
    var best = bands[0];
    bands.forEach(function (b) { if (b <= zoom) best = b; });
    return best;
  }

  window.civicstatBasemap = function (map, config) {
    var layers = config.layers || {};
    var el = map.getContainer();
    var prepared = {};  // file name → promise of prepared lines

    function lines(kind, zoom) {
      var spec = layers[kind];
      if (!spec || (spec.min_zoom && zoom < spec.min_zoom)) return Promise.resolve([]);
      var name = kind + "-" + band(spec.bands, zoom) + ".json";
      if (!prepared[name]) {
        prepared[name] = load(config.url + name).then(function (body) {
          return (body.lines || body.outlines).map(function (line) {
            var p = prepare(line[1]);
            p.kind = line[0];
            p.name = line[2] || line[0];
            return p;
          });
        });
      }
      return prepared[name];
    }

    // The parcel points of the data tiles under one display tile, projected.
    function parcels(coords) {
      var spec = layers.parcels;
      if (!spec || coords.z < spec.min_zoom) return Promise.resolve([]);
      var shift = coords.z - spec.tile_zoom;
      var keys = [];
      if (shift >= 0) {
        keys.push(spec.tile_zoom + "/" + (coords.x >> shift) + "/" + (coords.y >> shift));
      } else {
        var n = 1 << -shift;
        for (var dx = 0; dx < n; dx++) for (var dy = 0; dy < n; dy++) {
          keys.push(spec.tile_zoom + "/" + (coords.x * n + dx) + "/" + (coords.y * n + dy));
        }
      }
      var known = {};
      spec.tiles.forEach(function (t) { known[t] = true; });
      return Promise.all(keys.filter(function (k) { return known[k]; }).map(function (k) {
        var name = "parcels/" + k + ".json";
        if (!prepared[name]) prepared[name] = load(config.url + name).then(prepare);
        return prepared[name];
      }));
    }

    function roadWidth(z) { return z <= 10 ? 1.5 : z <= 12 ? 2.5 : z <= 14 ? 4 : 6; }
    function dotRadius(z) { return z <= 14 ? 0.8 : z === 15 ? 1.3 : z === 16 ? 2 : z === 17 ? 2.8 : 3.5; }

    function stroke(ctx, list, ox, oy, size, pad) {
      list.forEach(function (line) {
        var b = line.box;
        if (b[2] * size < ox - pad || b[0] * size > ox + 256 + pad ||
            b[3] * size < oy - pad || b[1] * size > oy + 256 + pad) return;
        var p = line.pts;
        ctx.beginPath();
        ctx.moveTo(p[0] * size - ox, p[1] * size - oy);
        for (var i = 2; i < p.length; i += 2) ctx.lineTo(p[i] * size - ox, p[i + 1] * size - oy);
        ctx.stroke();
      });
    }

    var painted = false;
    var Base = L.GridLayer.extend({
      createTile: function (coords, done) {
        var tile = document.createElement("canvas");
        var ratio = window.devicePixelRatio || 1;
        tile.width = tile.height = 256 * ratio;
        var z = coords.z, size = 256 * Math.pow(2, z), ox = coords.x * 256, oy = coords.y * 256;
        Promise.all([lines("roads", z), lines("areas", z), parcels(coords)]).then(function (got) {
          var ctx = tile.getContext("2d");
          ctx.scale(ratio, ratio);
          ctx.fillStyle = LAND;
          ctx.fillRect(0, 0, 256, 256);
          var r = dotRadius(z);
          ctx.fillStyle = "#a39b8f";
          got[2].forEach(function (set) {
            var p = set.pts;
            for (var i = 0; i < p.length; i += 2) {
              var x = p[i] * size - ox, y = p[i + 1] * size - oy;
              if (x < -r || y < -r || x > 256 + r || y > 256 + r) continue;
              ctx.fillRect(x - r, y - r, 2 * r, 2 * r);
            }
          });
          ctx.lineJoin = ctx.lineCap = "round";
          ctx.strokeStyle = "#8c96a3";
          ctx.lineWidth = 1;
          ctx.setLineDash([4, 3]);
          stroke(ctx, got[1], ox, oy, size, 2);
          ctx.setLineDash([]);
          var w = roadWidth(z);
          ctx.strokeStyle = "#a8702a";  // casing, then the fill: a road reads as one band
          ctx.lineWidth = w + 2;
          stroke(ctx, got[0], ox, oy, size, w);
          ctx.strokeStyle = "#f7c46c";
          ctx.lineWidth = w;
          stroke(ctx, got[0], ox, oy, size, w);
          if (!painted && got[0].length) {
            painted = true;  // for the page tests: when the streets first showed
            el.dataset.basemapPainted = String(Math.round(performance.now()));
          }
          done(null, tile);
        }).catch(function () { done(null, tile); });
        return tile;
      },
    });
    new Base({ attribution: config.attribution, maxZoom: 19, className: "basemap" }).addTo(map);
    if (layers.areas) names(map, config, layers, lines);
    el.classList.add("with-basemap");
  };

  // The areas' names: the districts at the city view, the neighborhoods when a few fill the map.
  // The area whose rings hold a projected point (even-odd over all of an area's rings).
  function areaAt(rings, x, y) {
    var inside = {};
    rings.forEach(function (ring) {
      var b = ring.box, p = ring.pts, n = p.length;
      if (x < b[0] || x > b[2] || y < b[1] || y > b[3]) return;
      for (var i = 0, j = n - 2; i < n; j = i, i += 2) {
        if ((p[i + 1] > y) !== (p[j + 1] > y) &&
            x < (p[j] - p[i]) * (y - p[i + 1]) / (p[j + 1] - p[i + 1]) + p[i]) {
          inside[ring.name] = !inside[ring.name];
        }
      }
    });
    for (var name in inside) if (inside[name]) return name;
    return null;
  }

  function names(map, config, layers, lines) {
    var pane = map.createPane("basemapLabels");
    pane.style.zIndex = 450;  // over the outlines and tiles, under the case markers
    pane.style.pointerEvents = "none";
    var group = L.layerGroup().addTo(map);
    var all = null, round = 0;
    function show() {
      if (!all) return;
      round++;
      group.clearLayers();
      var z = map.getZoom(), view = map.getBounds().pad(0.1);
      var minZoom = (layers.areas && layers.areas.min_zoom) || 13, placed = 0, taken = [];
      all.forEach(function (l) {
        var district = l[0] === "council-district";
        if (district ? z > minZoom - 1 : z < minZoom) return;
        if (!view.contains([l[3], l[2]])) return;
        // No name over another: where they crowd (zoom 13, 14), the first of them is shown.
        var at = map.latLngToContainerPoint([l[3], l[2]]), w = l[1].length * 7 + 12;
        if (taken.some(function (t) {
          return Math.abs(t.x - at.x) < (t.w + w) / 2 && Math.abs(t.y - at.y) < 24;
        })) return;
        taken.push({ x: at.x, y: at.y, w: w });
        var icon = L.divIcon({ className: "area-name " + (district ? "district" : "nbh"),
                               html: "<span></span>", iconSize: null });
        var m = L.marker([l[3], l[2]], { icon: icon, interactive: false, keyboard: false,
                                         pane: "basemapLabels" });
        m.on("add", function () {
          var node = m.getElement();
          if (node) node.firstChild.textContent = l[1];
        });
        group.addLayer(m);
        placed++;
      });
      // Zoomed to a block, the neighborhood's label point is mostly out of view: its name at
      // the top of the map, for the area the map's centre is in.
      if (placed || z < minZoom) return;
      var centre = map.getCenter(), asked = ++round;
      lines("areas", z).then(function (rings) {
        var name = areaAt(rings, centre.lng / 360 + 0.5, my(centre.lat));
        if (!name || asked !== round) return;  // the map moved on meanwhile
        var b = map.getBounds(), top = [b.getNorth() - (b.getNorth() - b.getSouth()) * 0.06, centre.lng];
        var icon = L.divIcon({ className: "area-name nbh here", html: "<span></span>", iconSize: null });
        var m = L.marker(top, { icon: icon, interactive: false, keyboard: false, pane: "basemapLabels" });
        m.on("add", function () { var node = m.getElement(); if (node) node.firstChild.textContent = name; });
        group.addLayer(m);
      });
    }
    load(config.url + "labels.json").then(function (body) { all = body.labels; show(); })
      .catch(function () {});
    map.on("moveend", show);
  }
})();
