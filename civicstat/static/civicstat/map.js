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

  // The legend drawn on the map, in its corner: the list itself is moved there, so it stays one
  // list a screen reader reads once (without this script it stays under the map).
  var legend = el.parentNode.querySelector(".map-legend");
  if (legend) {
    var Legend = L.Control.extend({
      options: { position: "bottomleft" },
      onAdd: function () {
        var box = L.DomUtil.create("div", "leaflet-control map-legend-control");
        box.appendChild(legend);
        L.DomEvent.disableClickPropagation(box);
        return box;
      },
    });
    new Legend().addTo(map);
  }

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

  // Keyboard: the markers are one tab stop (a roving tabindex), after the page's own controls and
  // the map itself; the arrow keys move between them, Enter opens one. Focus never pans the map
  // (Leaflet's autoPanOnFocus moved it, which reloaded the markers and dropped focus to the page),
  // and the "cases in view" list under the map stays the way to reach every case by keyboard.
  var current = null;  // the key of the marker that holds the tab stop

  function markerOptions(icon, title) {
    return { icon: icon, title: title, keyboard: true, autoPanOnFocus: false, riseOnHover: true };
  }

  function ordered() {
    // Reading order: north to south, then west to east, so the arrows follow the screen.
    var list = [];
    marks.eachLayer(function (m) { list.push(m); });
    return list.sort(function (a, b) {
      var pa = map.latLngToContainerPoint(a.getLatLng()), pb = map.latLngToContainerPoint(b.getLatLng());
      return Math.round(pa.y / 20) - Math.round(pb.y / 20) || pa.x - pb.x;
    });
  }

  function rove() {
    var list = ordered();
    var holder = list.filter(function (m) { return m.csKey === current; })[0] || list[0];
    current = holder ? holder.csKey : null;
    list.forEach(function (m) {
      var node = m.getElement();
      if (node) node.tabIndex = m === holder ? 0 : -1;
    });
  }

  function onMarkerKey(marker, event) {
    var step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[event.key];
    if (event.key === "Escape") { map.closePopup(); return; }
    if (!step && event.key !== "Home" && event.key !== "End") return;
    event.preventDefault();
    event.stopPropagation();
    var list = ordered();
    var at = list.indexOf(marker);
    var next = event.key === "Home" ? list[0] : event.key === "End" ? list[list.length - 1]
      : list[(at + step + list.length) % list.length];
    if (!next) return;
    current = next.csKey;
    rove();
    var node = next.getElement();
    if (node) node.focus({ preventScroll: true });
  }

  function keyed(marker, key, text) {
    marker.csKey = key;
    marker.on("add", function () {
      var node = marker.getElement();
      if (!node) return;
      node.setAttribute("aria-label", text);
      node.tabIndex = key === current ? 0 : -1;
      node.addEventListener("keydown", function (event) { onMarkerKey(marker, event); });
      node.addEventListener("focus", function () { current = key; rove(); });
    });
    return marker;
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
    var m = L.marker([c.lat, c.lon], markerOptions(icon, text + " cases here"));
    keyed(m, "c" + c.lat + "," + c.lon,
      text + " cases here, " + c.open.toLocaleString("en-US") + " open. Zoom in");
    m.on("click", function () { map.setView([c.lat, c.lon], Math.min(map.getZoom() + 2, 19)); });
    return m;
  }

  function caseLink(p) {
    return '<a href="' + esc(p.url) + '"' + (target ? ' target="_blank" rel="noopener"' : "") + ">" +
      "Case #" + esc(p.id) + "</a>";
  }

  // One case: its popup. Several cases at one point (one address, or one generalised place):
  // one marker whose popup lists them all, since their pins would lie exactly on top of each other.
  function point(group, key) {
    var p = group[0];
    var open = group.filter(function (q) { return q.status === "open"; }).length;
    var status = group.length === 1 ? p.status : open ? "open" : "closed";
    var icon = L.divIcon({
      className: "pin " + status + (group.length > 1 ? " stack" : ""),
      html: group.length > 1 ? "<span>" + group.length + "</span>" : "",
      iconSize: group.length > 1 ? [24, 24] : [16, 16],
    });
    var name = group.length === 1
      ? p.title + " (" + p.status + "), " + (p.address || "no address") + ", opened " + p.opened
      : group.length + " cases at " + (p.address || "one place") + ", " + open + " open";
    var m = keyed(L.marker([p.lat, p.lon], markerOptions(icon, name)), key, name);
    if (group.length === 1) {
      m.bindPopup(
        "<strong>" + esc(p.title) + "</strong><br>" +
        '<span class="badge ' + esc(p.status) + '">' + esc(p.status) + "</span> opened " + esc(p.opened_text || p.opened) +
        "<br>" + esc(p.address || "") + "<br>" + caseLink(p)
      );
    } else {
      m.bindPopup(
        '<div class="stack-popup"><strong>' + group.length + " cases at " + esc(p.address || "this place") +
        "</strong><ul>" + group.map(function (q) {
          return "<li>" + caseLink(q) + " " + esc(q.title) + ' <span class="badge ' + esc(q.status) + '">' +
            esc(q.status) + "</span> opened " + esc(q.opened_text || q.opened) + "</li>";
        }).join("") + "</ul></div>",
        { maxHeight: 260, minWidth: 220 }
      );
    }
    return m;
  }

  function pointGroups(points) {
    var groups = {}, keys = [];
    points.forEach(function (p) {
      var key = "p" + p.lat.toFixed(6) + "," + p.lon.toFixed(6);
      if (!groups[key]) { groups[key] = []; keys.push(key); }
      groups[key].push(p);
    });
    return keys.map(function (key) { return { key: key, group: groups[key] }; });
  }

  // The marker a person is using: its popup is open, or it (or its popup) holds the keyboard focus.
  // A reload keeps it where it is: the popup's own auto-pan moves the map, and rebuilding the
  // markers then closed the popup within a second and a half of its opening.
  function inUse() {
    var active = document.activeElement;
    var found = null;
    marks.eachLayer(function (m) {
      var popup = m.getPopup && m.getPopup();
      var node = m.getElement();
      if ((popup && popup.isOpen()) || (node && active && node.contains(active)) ||
          (popup && popup.isOpen() && popup.getElement() && popup.getElement().contains(active))) {
        found = m;
      }
    });
    return found;
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

  // A popup closed from the keyboard (its close button, Escape) gives the focus back to its marker
  // instead of the page; a marker kept for its popup across a reload that no longer answers the
  // view goes once the popup closes.
  var latest = {};
  map.on("popupclose", function (event) {
    var m = event.popup && event.popup._source;
    if (!m || !marks.hasLayer(m)) return;
    var box = event.popup.getElement();
    setTimeout(function () {
      var node = m.getElement();
      var active = document.activeElement;
      // The popup fades out before it goes: focus still in it is about to be lost.
      var lost = !active || active === document.body || (box && box.contains(active));
      if (!latest[m.csKey] && !(node && node === document.activeElement)) {
        marks.removeLayer(m);
        rove();
      } else if (lost && node) {
        node.focus({ preventScroll: true });
      }
    }, 0);
  });

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
        var keep = inUse();
        marks.eachLayer(function (m) { if (m !== keep) marks.removeLayer(m); });
        latest = {};
        function add(key, make) {
          latest[key] = true;
          if (!keep || keep.csKey !== key) marks.addLayer(make());
        }
        if (data.kind === "points") {
          pointGroups(data.points).forEach(function (g) { add(g.key, function () { return point(g.group, g.key); }); });
          say(data.in_view.toLocaleString("en-US") + " cases in view, listed below the map.");
          listPoints(data.points);
        } else {
          data.clusters.forEach(function (c) { add("c" + c.lat + "," + c.lon, function () { return cluster(c); }); });
          say(data.in_view.toLocaleString("en-US") + " cases in view, in " + data.clusters.length +
              " groups. Zoom in to see single cases.");
          listPoints([]);
        }
        rove();
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
