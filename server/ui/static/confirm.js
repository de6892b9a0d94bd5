// A button with data-confirm asks before it acts: the question runs before the button's own
// click handlers (capture phase), and "Cancel" stops them.
(function () {
  "use strict";
  document.addEventListener(
    "click",
    function (event) {
      var button = event.target.closest ? event.target.closest("[data-confirm]") : null;
      if (!button) return;
      if (!window.confirm(button.dataset.confirm)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
