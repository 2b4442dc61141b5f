// The order page: a link with data-key="r" opens on that key (R: receipt, N: next sale) and a field
// with data-focus-key="t" takes the focus on it (T: the return form) when no field has the focus;
// after a paid sale the receipt link has the focus, so Enter opens it.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName)) return;
    const key = event.key.toLowerCase();
    const link = document.querySelector('a[data-key="' + key + '"]');
    const field = document.querySelector('[data-focus-key="' + key + '"]');
    if (link) { event.preventDefault(); window.location.href = link.href; }
    else if (field) { event.preventDefault(); field.focus(); if (field.select) field.select(); }
  });
})();
