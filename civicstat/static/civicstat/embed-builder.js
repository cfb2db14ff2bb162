/* The embed builder: every change of the form updates the snippet and the live preview. */
(function () {
  "use strict";
  var form = document.getElementById("embed-form");
  if (!form) return;
  var snippet = document.getElementById("snippet");
  var preview = document.getElementById("embed-preview");
  var base = form.dataset.embedBase;
  var title = snippet.value.match(/title="([^"]*)"/);
  // A place picked below (the geocoder behind the map's place search) opens the embedded map
  // there: "#zoom/lat/lon", which the map reads as a shared link's place. Empty: the embed
  // opens on its filtered cases.
  var place = "";

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() && !(key === "status" && value === "all")) params.append(key, value);
    });
    return params.toString();
  }

  function update() {
    var q = query();
    var src = base + (q ? "?" + q : "") + place;
    snippet.value = '<iframe src="' + src.replace(/&/g, "&amp;") + '" title="' + (title ? title[1] : "Map of cases") +
      '" width="100%" height="520" style="border:0" loading="lazy"></iframe>';
    preview.src = new URL(src).pathname + (q ? "?" + q : "") + place;
  }

  form.addEventListener("change", update);

  var finder = document.querySelector(".embed-place");
  if (finder) {
    var results = finder.querySelector(".embed-place-results");
    var chosen = finder.querySelector(".embed-place-chosen");
    var choose = function (name, hash) {
      place = hash;
      chosen.hidden = !hash;
      chosen.querySelector("span").textContent = hash ? "The map opens on " + name + "." : "";
      results.textContent = "";
      update();
    };
    finder.addEventListener("submit", function (event) {
      event.preventDefault();
      var q = finder.querySelector("input[name=q]").value.trim();
      if (!q) return;
      results.textContent = "Searching…";
      fetch(finder.dataset.placesUrl + "?q=" + encodeURIComponent(q))
        .then(function (r) { return r.json(); })
        .then(function (body) {
          results.textContent = "";
          if (body.error) { results.textContent = body.error; return; }
          if (!body.places.length) { results.textContent = "No place found for “" + q + "”."; return; }
          var list = document.createElement("ul");
          body.places.slice(0, 8).forEach(function (p) {
            var li = document.createElement("li");
            var button = document.createElement("button");
            button.type = "button";
            button.textContent = p.name + " (" + p.kind + (p.approximate ? ", approximate" : "") + ")";
            button.addEventListener("click", function () {
              // An area opens at a neighbourhood's zoom at its middle, an address at a block's.
              var lat = p.bbox ? (p.bbox[1] + p.bbox[3]) / 2 : p.lat;
              var lon = p.bbox ? (p.bbox[0] + p.bbox[2]) / 2 : p.lon;
              choose(p.name, "#" + (p.bbox ? 14 : 17) + "/" + lat.toFixed(5) + "/" + lon.toFixed(5));
              chosen.querySelector("button").focus();
            });
            li.appendChild(button);
            list.appendChild(li);
          });
          results.appendChild(list);
        })
        .catch(function () { results.textContent = "The search did not answer; try again."; });
    });
    chosen.querySelector("button").addEventListener("click", function () {
      choose("", "");
      finder.querySelector("input[name=q]").focus();
    });
  }
  form.addEventListener("submit", function (event) { event.preventDefault(); update(); });
  document.getElementById("copy-snippet").addEventListener("click", function () {
    snippet.select();
    var done = document.getElementById("copy-status");
    if (navigator.clipboard) {
      navigator.clipboard.writeText(snippet.value).then(
        function () { done.textContent = "Copied."; },
        function () { done.textContent = "Select the text and copy it."; }
      );
    } else {
      done.textContent = "Select the text and copy it.";
    }
  });
})();
