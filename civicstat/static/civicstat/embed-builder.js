/* The embed builder: every change of the form updates the snippet and the live preview. */
(function () {
  "use strict";
  var form = document.getElementById("embed-form");
  if (!form) return;
  var snippet = document.getElementById("snippet");
  var preview = document.getElementById("embed-preview");
  var base = form.dataset.embedBase;
  var title = snippet.value.match(/title="([^"]*)"/);

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (value, key) {
      if (String(value).trim() && !(key === "status" && value === "all")) params.append(key, value);
    });
    return params.toString();
  }

  function update() {
    var q = query();
    var src = base + (q ? "?" + q : "");
    snippet.value = '<iframe src="' + src.replace(/&/g, "&amp;") + '" title="' + (title ? title[1] : "Map of cases") +
      '" width="100%" height="520" style="border:0" loading="lazy"></iframe>';
    preview.src = new URL(src).pathname + (q ? "?" + q : "");
  }

  form.addEventListener("change", update);
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
