// Confirmations (issue 13): a button with data-confirm="dialog-id" opens that <dialog> as a modal.
// The dialog holds the real form: Esc closes it (the browser's own cancel), Enter in its one reason
// field or on its focused Confirm button submits. The server checks the reason again.
(function () {
  "use strict";
  if (window.confirmDialogsBound) return;  // the macro may include this script more than once
  window.confirmDialogsBound = true;
  document.addEventListener("click", function (event) {
    const opener = event.target.closest ? event.target.closest("[data-confirm]") : null;
    if (!opener) return;
    const dialog = document.getElementById(opener.dataset.confirm);
    if (!dialog || !dialog.showModal) return;
    event.preventDefault();
    dialog.showModal();
    const first = dialog.querySelector("input:not([type=hidden]), button[type=submit]");
    if (first) first.focus();
  });
})();
