/* Swagger UI draws a parameter's list of choices as a <select> with no label: name each one
   after its parameter, as it appears, so a screen reader says what it chooses. */
(function () {
  function label(root) {
    root.querySelectorAll("tr[data-param-name] select:not([aria-label])").forEach(function (s) {
      s.setAttribute("aria-label", s.closest("tr").dataset.paramName);
    });
  }
  new MutationObserver(function () { label(document); })
    .observe(document.body, { childList: true, subtree: true });
})();
