// The order page's "a manager approves here" dialog: M (or the button) opens it with the focus on the
// manager's name; Esc closes it; it opens again by itself after a refused name or password.
(function () {
  "use strict";
  const dialog = document.getElementById("approve-here");
  if (!dialog) return;
  function open() {
    if (!dialog.open) dialog.showModal();
    document.getElementById(dialog.querySelector(".has-error #manager_password") ? "manager_password" : "manager_username").focus();
  }
  document.getElementById("approve-here-open").addEventListener("click", open);
  document.getElementById("approve-here-close").addEventListener("click", function () { dialog.close(); });
  document.addEventListener("keydown", function (event) {
    if (event.key.toLowerCase() !== "m" || event.ctrlKey || event.altKey || event.metaKey || dialog.open) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName)) return;
    event.preventDefault();
    open();
  });
  if (dialog.hasAttribute("data-open")) open();
})();
