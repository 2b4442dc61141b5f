// The counter's touch grid: favourites (pinned by a manager, then the counter's best sellers of the last
// 30 days) and "often bought with" the lines on screen (only once the shop's history is enough: see
// appliance/counter_picks.py). A tap adds the product as a scan would. Managers pin and unpin here.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  const box = document.getElementById("favourites");
  if (!form || !box || !window.counterEntry) return;
  const grid = document.getElementById("favourite-grid");
  const pinLines = document.getElementById("pin-lines");
  const together = document.getElementById("often-bought");
  const togetherList = document.getElementById("often-bought-list");
  let onScreen = [];
  let togetherTimer = null;
  let togetherSeq = 0;

  function money(cents) {
    return (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function tile(product, canPin) {
    const wrap = document.createElement("div");
    wrap.className = "favourite";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "favourite-add";
    button.dataset.sku = product.sku;
    button.textContent = product.name + " · " + money(product.price_cents);
    button.addEventListener("click", function () { window.counterEntry.add(product.sku); });
    wrap.appendChild(button);
    if (canPin && product.pinned) {
      const unpin = document.createElement("button");
      unpin.type = "button";
      unpin.className = "link unpin";
      unpin.textContent = "Unpin";
      unpin.addEventListener("click", function () { pin([product.sku], false); });
      wrap.appendChild(unpin);
    }
    return wrap;
  }

  function show(data) {
    grid.innerHTML = "";
    for (const product of data.favourites) grid.appendChild(tile(product, data.can_pin));
    box.hidden = !data.favourites.length && !data.can_pin;
    pinLines.hidden = !data.can_pin;
  }

  const KEPT = "store-appliance.favourites.v1";  // the last grid, for a page opened while the box is away

  async function load() {
    try {
      const response = await fetch(box.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.ok && !response.redirected) {
        const data = await response.json();
        show(data);
        try { window.localStorage.setItem(KEPT, JSON.stringify({ favourites: data.favourites, can_pin: false })); } catch (err) { /* full */ }
      }
    } catch (err) {
      // The box is away: the grid it gave last (the till prices the taps from its own catalogue).
      try { const kept = JSON.parse(window.localStorage.getItem(KEPT) || "null"); if (kept) show(kept); } catch (e) { /* none */ }
    }
  }

  async function pin(skus, pinned) {
    let data = null;
    for (const sku of skus) {
      const response = await fetch(box.dataset.pinUrl, {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json",
                   "X-CSRF-Token": form.querySelector('input[name="csrf_token"]').value },
        body: JSON.stringify({ sku: sku, pinned: pinned }),
      });
      if (response.ok) data = await response.json();
    }
    if (data) show(data);
  }

  pinLines.addEventListener("click", function () { if (onScreen.length) pin(onScreen, true); });

  async function suggest(skus) {
    const seq = ++togetherSeq;
    let products = [];
    if (skus.length) {
      try {
        const response = await fetch(together.dataset.url + "?" + skus.map((s) => "sku=" + encodeURIComponent(s)).join("&"),
                                     { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.ok && !response.redirected) products = (await response.json()).products;
      } catch (err) { products = []; }
    }
    if (seq !== togetherSeq) return;
    togetherList.innerHTML = "";
    for (const product of products) togetherList.appendChild(tile(product, false));
    together.hidden = !products.length;
  }

  form.addEventListener("lines-change", function (event) {
    const skus = event.detail.skus;
    if (skus.join("\n") === onScreen.join("\n")) return;
    onScreen = skus;
    clearTimeout(togetherTimer);
    togetherTimer = setTimeout(function () { suggest(onScreen); }, 250);
  });
  load();
})();
