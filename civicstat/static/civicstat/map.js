/* The public map: clusters when zoomed out, single cases when zoomed in, from /map/view.json.
   Everything a pin shows is also in the page's list; the map only adds where. */
(function () {
  "use strict";
  var el = document.getElementById("map");
  if (!el || !window.L) return;
  var config = JSON.parse(document.getElementById(el.dataset.config).textContent);
  var status = document.querySelector(".map-status");
  var inView = document.querySelector(".in-view");
  var inViewList = document.querySelector(".in-view-list");
  var target = config.embed ? "_blank" : "";

  var map = L.map(el, { zoomControl: true, minZoom: 3, maxZoom: 19 });
  el.civicstatMap = map;  // for alerts/pick.js: a click on the map chooses a point to watch
  if (config.tiles) {
    L.tileLayer(config.tiles, { attribution: config.attribution, maxZoom: 19 }).addTo(map);
  } else if (config.basemap && window.civicstatBasemap) {
    window.civicstatBasemap(map, config.basemap);  // the city's own base map: basemap.js
  }
  var outlines = L.geoJSON(null, {
    style: { color: "#57606a", weight: 1.5, fill: false, interactive: false },
    interactive: false,
  }).addTo(map);
  var marks = L.layerGroup().addTo(map);

  function fromHash() {
    var m = /^#(\d+)\/(-?[\d.]+)\/(-?[\d.]+)$/.exec(window.location.hash);
    return m ? { zoom: +m[1], center: [+m[2], +m[3]] } : null;
  }

  function say(text) { if (status) status.textContent = text; }

  function esc(text) {
    var div = document.createElement("div");
    div.textContent = text == null ? "" : String(text);
    return div.innerHTML;
  }

  function label(marker, text) {
    marker.on("add", function () {
      var node = marker.getElement();
      if (node) node.setAttribute("aria-label", text);
    });
  }

  function cluster(c) {
    var share = c.count ? c.open / c.count : 0;
    var size = c.count < 100 ? 34 : c.count < 10000 ? 42 : 52;
    var text = c.count.toLocaleString("en-US");
    var icon = L.divIcon({
      className: "cluster " + (share >= 0.5 ? "mostly-open" : "mostly-closed"),
      html: "<span>" + (c.count >= 10000 ? Math.round(c.count / 1000) + "k" : text) + "</span>",
      iconSize: [size, size],
    });
    var m = L.marker([c.lat, c.lon], { icon: icon, title: text + " cases here" });
    label(m, text + " cases here, " + c.open.toLocaleString("en-US") + " open. Zoom in");
    m.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)); });
    return m;
  }

  function point(p) {
    var icon = L.divIcon({ className: "pin " + p.status, iconSize: [16, 16] });
    var name = p.title + " (" + p.status + "), " + (p.address || "no address") + ", opened " + p.opened;
    var m = L.marker([p.lat, p.lon], { icon: icon, title: name });
    label(m, name);
    m.bindPopup(
      "<strong>" + esc(p.title) + "</strong><br>" +
      '<span class="badge ' + esc(p.status) + '">' + esc(p.status) + "</span> opened " + esc(p.opened) +
      "<br>" + esc(p.address || "") +
      '<br><a href="' + esc(p.url) + '"' + (target ? ' target="_blank" rel="noopener"' : "") + ">Case #" + esc(p.id) + "</a>"
    );
    return m;
  }

  // A zoomed-out view can hold up to MAP_POINTS_LIMIT single cases: listing them all made the page
  // tens of thousands of pixels tall. The first IN_VIEW_LIMIT are listed; the list view has all.
  var IN_VIEW_LIMIT = 50;
  var inViewMore = document.querySelector(".in-view-more");

  function listPoints(points) {
    if (!inView) return;
    inView.hidden = points.length === 0;
    inViewList.innerHTML = "";
    if (inViewMore) {
      inViewMore.hidden = points.length <= IN_VIEW_LIMIT;
      inViewMore.textContent = "";
      if (points.length > IN_VIEW_LIMIT) {
        inViewMore.appendChild(document.createTextNode(
          "The " + IN_VIEW_LIMIT + " of the " + points.length.toLocaleString("en-US") +
          " cases in view nearest the map's centre are listed. Zoom in to list fewer, or see "));
        var all = document.createElement("a");
        all.href = config.list_url + (config.query ? "?" + config.query : "");
        all.textContent = "every matching case in the list view";
        inViewMore.appendChild(all);
        inViewMore.appendChild(document.createTextNode("."));
      }
    }
    // Nearest the centre first: the cases the person moved the map to look at.
    var centre = map.getCenter();
    var near = points.slice().sort(function (a, b) {
      return centre.distanceTo([a.lat, a.lon]) - centre.distanceTo([b.lat, b.lon]);
    });
    near.slice(0, IN_VIEW_LIMIT).forEach(function (p) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = p.url;
      if (target) { a.target = target; a.rel = "noopener"; }
      a.textContent = p.title + " #" + p.id;
      li.appendChild(a);
      li.appendChild(document.createTextNode(" — " + p.status + ", " + (p.address || "no address") + ", opened " + p.opened));
      inViewList.appendChild(li);
    });
  }

  var pending = null;
  function refresh() {
    var b = map.getBounds();
    var west = Math.max(-180, b.getWest()), east = Math.min(180, b.getEast());
    var south = Math.max(-90, b.getSouth()), north = Math.min(90, b.getNorth());
    var bbox = [west, south, east, north].map(function (v) { return v.toFixed(5); }).join(",");
    var url = config.view_url + "?" + (config.query ? config.query + "&" : "") + "bbox=" + bbox;
    if (pending) pending.abort();
    pending = new AbortController();
    say("Loading cases…");
    fetch(url, { signal: pending.signal })
      .then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { say(res.body.error || "The map could not load the cases."); return; }
        var data = res.body;
        marks.clearLayers();
        if (data.kind === "points") {
          data.points.forEach(function (p) { marks.addLayer(point(p)); });
          say(data.in_view.toLocaleString("en-US") + " cases in view, listed below the map.");
          listPoints(data.points);
        } else {
          data.clusters.forEach(function (c) { marks.addLayer(cluster(c)); });
          say(data.in_view.toLocaleString("en-US") + " cases in view, in " + data.clusters.length +
              " groups. Zoom in to see single cases.");
          listPoints([]);
        }
        el.dataset.kind = data.kind;
        el.dataset.inView = data.in_view;
        if (!config.embed && history.replaceState) {
          var c = map.getCenter();
          history.replaceState(null, "", "#" + map.getZoom() + "/" + c.lat.toFixed(5) + "/" + c.lng.toFixed(5));
        }
      })
      .catch(function (err) { if (err.name !== "AbortError") say("The map could not load the cases."); });
  }

  map.on("moveend", refresh);
  // A shared link to another place on the same page (#zoom/lat/lon) moves the map there.
  window.addEventListener("hashchange", function () {
    var next = fromHash();
    if (next) map.setView(next.center, next.zoom);
  });
  // The first view: a shared link's place, else the server's (MAP_CENTER, the city's areas or
  // its cases), so the map opens on this city at once, before any outline has loaded.
  var start = fromHash();
  if (start) map.setView(start.center, start.zoom);
  else if (config.start.bounds) map.fitBounds(config.start.bounds);
  else map.setView(config.start.center, config.start.zoom);
  fetch(config.areas_url)
    .then(function (r) { return r.json(); })
    .then(function (geo) { outlines.addData(geo); })
    .catch(function () {});  // the outlines only draw the city: the cases show without them

  // Place search: neighborhoods, districts and addresses the city's own data holds.
  var search = document.querySelector(".place-search");
  if (search) {
    var results = search.querySelector(".place-results");
    search.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = search.querySelector("input[name=q]").value.trim();
      results.textContent = "Searching…";
      fetch(search.dataset.placesUrl + "?q=" + encodeURIComponent(q))
        .then(function (r) { return r.json(); })
        .then(function (body) {
          results.innerHTML = "";
          if (body.error) { results.textContent = body.error; return; }
          if (!body.places.length) { results.textContent = "No place found for “" + q + "”."; return; }
          var list = document.createElement("ul");
          body.places.forEach(function (place) {
            var li = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.textContent = place.name + " (" + place.kind + (place.approximate ? ", approximate" : "") + ")";
            button.addEventListener("click", function () {
              if (place.bbox) map.fitBounds([[place.bbox[1], place.bbox[0]], [place.bbox[3], place.bbox[2]]]);
              else map.setView([place.lat, place.lon], 17);
              el.focus();
            });
            li.appendChild(button);
            if (place.url) {  // a case number: its page too
              var link = document.createElement("a");
              link.href = place.url;
              link.textContent = "open its page";
              li.appendChild(document.createTextNode(" · "));
              li.appendChild(link);
            }
            list.appendChild(li);
          });
          results.appendChild(list);
        })
        .catch(function () { results.textContent = "The search did not answer; try again."; });
    });
    // "Use my location": the browser's geolocation, asked only when the resident presses it.
    var locate = search.querySelector(".locate-me");
    if (locate && navigator.geolocation) {
      locate.hidden = false;
      locate.addEventListener("click", function () {
        results.textContent = "Finding your location…";
        navigator.geolocation.getCurrentPosition(function (position) {
          results.textContent = "Showing the cases around your location.";
          map.setView([position.coords.latitude, position.coords.longitude], 16);
          el.focus();
        }, function () {
          results.textContent = "Your location is not available: type an address instead.";
        }, { enableHighAccuracy: true, timeout: 10000 });
      });
    }
  }
})();
