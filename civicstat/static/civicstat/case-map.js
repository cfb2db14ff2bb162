/* The small map on a case's page: one point (for a sensitive layer the centre of its generalised
   area, drawn as that area), on the base map or the city's district outlines. It does not move with
   the page's scrolling or keys: the link under it opens the full map there. */
(function () {
  "use strict";
  var el = document.getElementById("case-map");
  if (!el || !window.L) return;
  var config = JSON.parse(document.getElementById(el.dataset.config).textContent);
  // With streets (a tile server, or the city's own base map: basemap.js) the block is worth
  // showing; on district outlines alone, the part of the city it is in.
  var streets = !!config.tiles || !!(config.basemap && window.civicstatBasemap);
  var map = L.map(el, {
    zoomControl: false, dragging: false, scrollWheelZoom: false, doubleClickZoom: false,
    boxZoom: false, keyboard: false, touchZoom: false, attributionControl: streets,
  }).setView([config.lat, config.lon], streets ? (config.generalised ? 15 : 16) : 13);
  if (config.tiles) {
    L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  } else if (streets) {
    window.civicstatBasemap(map, config.basemap);
  }
  var style = { color: "#57606a", weight: 1.5, fill: false, interactive: false };
  fetch(config.areas_url)
    .then(function (r) { return r.json(); })
    .then(function (geo) { L.geoJSON(geo, { style: style, interactive: false }).addTo(map); })
    .catch(function () {});  // the outlines only draw the city around the point
  if (config.generalised) {
    // An h3 resolution-9 cell is about 174 m across: the circle says "somewhere in here".
    L.circle([config.lat, config.lon], {
      radius: 87, color: "#d55e00", weight: 2, fillOpacity: 0.2, interactive: false,
    }).addTo(map);
  }
  L.circleMarker([config.lat, config.lon], {
    radius: 7, color: "#fff", weight: 2, fillColor: "#0b5cad", fillOpacity: 1, interactive: false,
  }).addTo(map);
})();
