/* Every page: on a phone the main menu folds behind a "Menu" button (aria-expanded says whether it
   is open; Escape closes it and returns to the button). Without this script the button stays
   hidden and the menu shows stacked, so every link is still there. */
(function () {
  "use strict";
  var nav = document.querySelector(".site-nav");
  var button = nav && nav.querySelector(".nav-toggle");
  if (!button) return;
  document.documentElement.classList.add("nav-folds");
  button.hidden = false;

  function show(open) {
    button.setAttribute("aria-expanded", open ? "true" : "false");
    nav.classList.toggle("open", open);
  }

  button.addEventListener("click", function () {
    show(button.getAttribute("aria-expanded") !== "true");
  });
  nav.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && nav.classList.contains("open")) {
      show(false);
      button.focus();
    }
  });
})();
