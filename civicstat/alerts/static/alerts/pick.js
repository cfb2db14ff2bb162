/* Choosing the point an alert watches on a map: a click sets the form's latitude and longitude,
   and "Use the map's centre" does the same by keyboard (arrow keys move a focused Leaflet map).
   A form names its map with data-pick-map: the public map (map.js leaves its Leaflet map on the
   element) or a small map built here, whose base layer is the city's area outlines, so it works
   with no tile server at all. Without JavaScript the typed fields still work. */
(function () {
  "use strict";
  if (!window.L) return;

  function numberIn(input) {
    var value = input ? parseFloat(input.value) : NaN;
    return isFinite(value) ? value : null;
  }

  function ownMap(el) {
    var config = JSON.parse(document.getElementById(el.dataset.config).textContent);
    var box = el.closest(".pick");
    if (box) box.hidden = false;
    var map = L.map(el, { minZoom: 3, maxZoom: 19 });
    el.civicstatMap = map;  // as map.js does: page tests find a place's pixel through it
    if (config.tiles) {
      L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
    } else if (config.basemap && window.civicstatBasemap) {
      window.civicstatBasemap(map, config.basemap);  // the city's own base map: basemap.js
    }
    var outlines = L.geoJSON(null, {
      style: { color: "#57606a", weight: 1.5, fill: false, interactive: false },
      interactive: false,
    }).addTo(map);
    return { map: map, outlines: outlines, areasUrl: config.areas_url, start: config.start };
  }

  function setUp(form) {
    var el = document.getElementById(form.dataset.pickMap);
    if (!el) return;
    var lat = form.querySelector("[name=lat]");
    var lon = form.querySelector("[name=lon]");
    var radius = form.querySelector("[name=radius_m]");
    var place = form.querySelector("[name=place]");
    var status = form.querySelector(".pick-status");
    var centre = form.querySelector(".pick-centre");
    var built = el.civicstatMap ? null : ownMap(el);
    var map = el.civicstatMap || built.map;
    var chosen = L.layerGroup().addTo(map);

    function radiusM() {
      var r = numberIn(radius);
      return r && r > 0 ? r : 500;
    }

    function draw() {
      chosen.clearLayers();
      var y = numberIn(lat), x = numberIn(lon);
      if (y === null || x === null) return false;
      L.circle([y, x], { radius: radiusM(), color: "#0a5cc2", weight: 2, fillOpacity: 0.08, interactive: false }).addTo(chosen);
      L.circleMarker([y, x], { radius: 5, color: "#0a5cc2", fillOpacity: 1, interactive: false }).addTo(chosen);
      return true;
    }

    var how = "";
    function say() {
      if (status && how && draw()) {
        status.textContent = "Watching " + radiusM() + " m around " + lat.value + ", " + lon.value + " (" + how + ").";
      }
    }

    function choose(latlng, source) {
      lat.value = latlng.lat.toFixed(5);
      lon.value = latlng.lng.toFixed(5);
      // A typed address no longer names the point: the coordinates do.
      if (place) place.value = "";
      how = source;
      say();
      // The small map starts with the whole city, a few hundred metres a pixel: come closer so a
      // second click can correct the first. The public map keeps the view its user chose.
      if (built && map.getZoom() < 14) map.setView(latlng, 15);
    }

    map.on("click", function (event) { choose(event.latlng, "the point clicked on the map"); });
    if (centre) {
      centre.hidden = false;
      centre.addEventListener("click", function () { choose(map.getCenter(), "the map's centre"); });
    }
    // "Use my location": the browser's own geolocation, asked only when the resident presses it.
    if (centre && navigator.geolocation) {
      var here = document.createElement("button");
      here.type = "button";
      here.className = "pick-here";
      here.textContent = "Use my location";
      centre.parentNode.insertBefore(here, centre.nextSibling);
      centre.parentNode.insertBefore(document.createTextNode(" "), here);
      here.addEventListener("click", function () {
        if (status) status.textContent = "Finding your location…";
        navigator.geolocation.getCurrentPosition(function (position) {
          var latlng = L.latLng(position.coords.latitude, position.coords.longitude);
          choose(latlng, "your location");
          map.setView(latlng, Math.max(map.getZoom(), 15));
        }, function () {
          if (status) status.textContent = "Your location is not available: type an address, or click the map.";
        }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
    [lat, lon].forEach(function (input) {
      input.addEventListener("input", function () { how = "the coordinates typed"; say(); });
    });
    if (radius) radius.addEventListener("input", function () { draw(); say(); });

    var start = draw();
    if (!built) return;
    // The point already typed, else where every map of this city opens (see map.js).
    if (start) map.setView([numberIn(lat), numberIn(lon)], 15);
    else if (built.start.bounds) map.fitBounds(built.start.bounds);
    else map.setView(built.start.center, built.start.zoom);
    fetch(built.areasUrl)
      .then(function (r) { return r.json(); })
      .then(function (geo) { built.outlines.addData(geo); })
      .catch(function () {});  // without outlines the map still picks a point
  }

  document.querySelectorAll("form[data-pick-map]").forEach(setUp);
})();
