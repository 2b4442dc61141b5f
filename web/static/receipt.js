// The receipt page: P prints, F switches between the 80 mm roll and A4, Esc goes back to the order,
// N starts the next sale. The print button has the focus, so Enter prints too.
(function () {
  "use strict";
  const print = document.getElementById("print");
  if (!print) return;
  print.addEventListener("click", function () { window.print(); });
  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.altKey || event.metaKey) return;
    const key = event.key.toLowerCase();
    const go = { f: "other-paper", n: "next-sale", escape: "back" }[key];
    if (key === "p") { event.preventDefault(); window.print(); }
    else if (go) { event.preventDefault(); window.location.href = document.getElementById(go).href; }
  });
})();
