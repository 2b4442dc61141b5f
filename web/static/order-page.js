// The order page: a link with data-key="r" opens on that key (R: receipt, N: next sale) when no
// field has the focus; after a paid sale the receipt link has the focus, so Enter opens it.
(function () {
  "use strict";
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    if (/^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement && document.activeElement.tagName)) return;
    const link = document.querySelector('a[data-key="' + event.key.toLowerCase() + '"]');
    if (link) { event.preventDefault(); window.location.href = link.href; }
  });
})();
