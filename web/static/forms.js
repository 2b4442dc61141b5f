// Scanner-friendly forms: a scanner ends each code with Enter, which would submit a half-filled
// form. An input with data-enter-next="other-id" moves the focus there on Enter instead.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    const target = event.target;
    if (event.key !== "Enter" || !target.dataset || !target.dataset.enterNext) return;
    const next = document.getElementById(target.dataset.enterNext);
    if (next && target.value.trim()) {
      event.preventDefault();
      next.focus();
      if (next.select) next.select();
    }
  });
})();
