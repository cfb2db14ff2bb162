/* The filter form of the map, its list view and the embed builder (maps/_filters.html).
   Progressive enhancement: without this script every field still works as a plain form field.
   1. The request-type list (800 types in Kansas City, under their service groups) gets a text box
      above it: typing narrows the list to the types whose name or group holds every word typed.
      Enter or Down in the box moves to the list (and picks the type when only one is left).
   2. On a phone the filter panel starts closed, so the map or the list comes first. */
(function () {
  "use strict";

  function words(text) {
    return text.toLowerCase().split(/\s+/).filter(Boolean);
  }

  function findable(select) {
    var find = document.getElementById(select.getAttribute("id") + "-find");
    if (!find) return;
    var label = document.querySelector('label[for="' + find.id + '"]');
    var status = select.parentNode.querySelector(".service-find-status");
    // A snapshot of the groups and their options: the filtered list is rebuilt from it.
    var first = select.querySelector("option:not(optgroup option)");
    var groups = Array.prototype.map.call(select.querySelectorAll("optgroup"), function (g) {
      return {
        group: g,
        options: Array.prototype.map.call(g.querySelectorAll("option"), function (o) {
          return { option: o, text: (g.label + " " + o.textContent).toLowerCase() };
        }),
      };
    });
    var total = groups.reduce(function (n, g) { return n + g.options.length; }, 0);
    var matches = [];

    function narrow() {
      var wanted = words(find.value);
      var chosen = select.value;
      matches = [];
      while (select.firstChild) select.removeChild(select.firstChild);
      if (first) select.appendChild(first);
      groups.forEach(function (g) {
        var kept = [];
        g.options.forEach(function (o) {
          var hit = wanted.every(function (w) { return o.text.indexOf(w) !== -1; });
          if (hit) matches.push(o.option);
          // The chosen type stays in the list whatever is typed: it is what the form sends.
          if (hit || (chosen && o.option.value === chosen)) kept.push(o);
        });
        while (g.group.firstChild) g.group.removeChild(g.group.firstChild);
        kept.forEach(function (o) { g.group.appendChild(o.option); });
        if (kept.length) select.appendChild(g.group);
      });
      select.value = chosen;
      if (status) {
        status.textContent = wanted.length
          ? matches.length + " of " + total + " request types match"
          : "";
      }
    }

    find.hidden = false;
    if (label) label.hidden = false;
    find.addEventListener("input", narrow);
    find.addEventListener("keydown", function (event) {
      if (event.key !== "Enter" && event.key !== "ArrowDown") return;
      event.preventDefault();  // Enter here narrows the list; it does not send the form
      if (matches.length === 1) select.value = matches[0].value;
      select.focus();
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("select#f-service"), findable);

  var phone = window.matchMedia && window.matchMedia("(max-width: 50rem)").matches;
  if (phone) {
    Array.prototype.forEach.call(document.querySelectorAll("details.filter-panel[data-phone-closed]"), function (d) {
      d.open = false;
    });
  }
})();
