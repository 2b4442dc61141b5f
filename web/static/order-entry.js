// Counter order entry: keyboard only. A barcode scanner types the code and Enter into #scan; without a
// scanner, typing part of a name (or SKU, barcode; words in any order) lists matching products, picked
// with the arrow keys and Enter. F3 parks the sale in this browser (localStorage: this slice keeps
// parked sales on the till, not on the box); leaving the page with an unfinished sale parks it too.
// The server stays the judge (stock, prices, idempotency); this script only makes the counter fast
// and shows a line that lacks stock before anyone presses submit. While the box does not answer, the
// sale is kept on the till and sent later (till-offline.js), with a receipt that says so.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  if (!form) return;
  const scan = document.getElementById("scan");
  const scanMessage = document.getElementById("scan-message");
  const rows = document.getElementById("line-rows");
  const noLines = document.getElementById("no-lines");
  const totalCell = document.getElementById("order-total");
  const itemCount = document.getElementById("item-count");
  const submitButton = document.getElementById("submit-order");
  const submitMessage = document.getElementById("submit-message");
  const state = JSON.parse(document.getElementById("order-state").textContent);
  const formKey = form.querySelector('input[name="form_key"]');
  const lines = []; // {sku, name, price_cents, available, qty, typed, error, row}; typed: a refused quantity
  let submitting = false;

  function money(cents) {
    return (cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  }

  function say(text, isError) {
    scanMessage.textContent = text;
    scanMessage.classList.toggle("field-error", !!isError);
  }

  // -- lines --------------------------------------------------------------------------------

  function addOrIncrement(info, qty) {
    let line = lines.find((l) => l.sku === info.sku);
    if (line) {
      line.qty += qty;
      line.typed = null;
      line.available = info.available; // the latest figure from the server
      line.error = "";
    } else {
      if (!lines.length) receipt.hidden = true;  // the next sale begins: the last kept sale's receipt goes
      line = { sku: info.sku, name: info.name, price_cents: info.price_cents, available: info.available, qty: qty,
               typed: null, error: "" };
      lines.push(line);
      line.row = buildRow(line);
      rows.appendChild(line.row);
    }
    refresh();
    return line;
  }

  function buildRow(line) {
    const tr = document.createElement("tr");
    tr.dataset.sku = line.sku;
    tr.innerHTML =
      '<td class="sku"></td><td class="name"></td>' +
      '<td class="num"><input type="hidden" name="line_sku"><input class="qty" name="line_qty" type="text" inputmode="numeric" autocomplete="off" spellcheck="false"></td>' +
      '<td class="num price"></td><td class="num line-total"></td><td class="stock"></td>' +
      '<td><button type="button" class="link remove" tabindex="-1">Remove</button></td>';
    tr.querySelector(".sku").textContent = line.sku;
    tr.querySelector(".name").textContent = line.name;
    tr.querySelector('input[name="line_sku"]').value = line.sku;
    const qtyInput = tr.querySelector(".qty");
    qtyInput.setAttribute("aria-label", "Quantity of " + line.sku);
    qtyInput.addEventListener("input", function () {
      // Only whole units: "1.5", "2,5" or "two" is refused on this line, never read as 1 or 2.
      const typed = qtyInput.value.trim();
      line.qty = /^\d{1,6}$/.test(typed) ? parseInt(typed, 10) : 0;
      line.typed = /^\d{1,6}$/.test(typed) ? null : typed;
      line.error = "";
      refresh(qtyInput);
    });
    qtyInput.addEventListener("keydown", function (event) {
      if (event.key === "Delete" && event.ctrlKey) { event.preventDefault(); removeLine(line); }
    });
    tr.querySelector(".remove").addEventListener("click", function () { removeLine(line); });
    return tr;
  }

  function removeLine(line) {
    lines.splice(lines.indexOf(line), 1);
    line.row.remove();
    refresh();
    scan.focus();
  }

  // Redraws every line; `editing` is the qty input being typed in (left alone so the caret stays).
  function refresh(editing) {
    let total = 0, items = 0;
    for (const line of lines) {
      const qtyInput = line.row.querySelector(".qty");
      if (qtyInput !== editing) qtyInput.value = line.typed !== null && line.typed !== undefined ? line.typed : line.qty;
      total += line.price_cents * Math.max(line.qty, 0);
      items += Math.max(line.qty, 0);
      line.row.querySelector(".price").textContent = money(line.price_cents);
      line.row.querySelector(".line-total").textContent = money(line.price_cents * Math.max(line.qty, 0));
      const stock = line.row.querySelector(".stock");
      const short = line.qty > line.available;
      const bad = line.qty < 1;
      line.row.classList.toggle("short", short || bad || !!line.error);
      qtyInput.setAttribute("aria-invalid", short || bad ? "true" : "false");
      line.row.classList.toggle("bad-qty", bad);
      stock.textContent = line.error || (bad ? qtyProblem(line)
        : short ? "Only " + line.available + " available" : line.available + " available");
      stock.classList.toggle("field-error", short || bad || !!line.error);
    }
    noLines.hidden = lines.length > 0;
    totalCell.textContent = money(total);
    if (window.paymentPanel) window.paymentPanel.setDue(total);
    itemCount.textContent = items;
    if (!problems().length) submitMessage.hidden = true;
    form.dispatchEvent(new CustomEvent("lines-change", { detail: { skus: lines.map((l) => l.sku) } }));
  }

  function qtyProblem(line) {
    const typed = line.typed || "";
    return typed && !/^[+-]?\d+$/.test(typed) ? typed + " is not a whole number: enter whole units (1, 2, 3…)."
      : "Enter a quantity of 1 or more.";
  }

  function problems() {
    return lines.filter((l) => l.qty < 1 || l.qty > l.available || l.error);
  }

  // -- scanning -----------------------------------------------------------------------------

  // "3*SKU" adds three at once; a plain code adds one.
  function parseScan(text) {
    const match = /^(\d{1,5})\s*[*xX]\s*(.+)$/.exec(text);
    return match ? { qty: parseInt(match[1], 10), code: match[2].trim() } : { qty: 1, code: text };
  }

  const pending = []; // scans are looked up in order, even when a scanner fires them fast
  let busy = false;

  function queueScan(text) {
    const item = parseScan(text);
    item.text = text;
    pending.push(item);
    if (!busy) nextScan();
  }

  function queueProduct(sku, qty) {
    pending.push({ qty: qty, code: sku, text: sku, picked: true });
    if (!busy) nextScan();
  }

  async function nextScan() {
    const item = pending.shift();
    if (!item) { busy = false; return; }
    busy = true;
    try {
      const response = await fetch(form.dataset.lookupUrl + "?code=" + encodeURIComponent(item.code),
                                   { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (response.redirected && new URL(response.url).pathname === "/login") {
        say("You were signed out: sign in again in another tab, then scan " + item.code + " again.", true);
        nextScan();
        return;
      }
      const data = await response.json();
      if (!response.ok && !item.picked) {
        await notACode(item, data.error || "Unknown code " + item.code);
      } else if (!response.ok) {
        say(data.error || "Unknown code " + item.code, true);
      } else {
        const line = addOrIncrement(data, item.qty);
        say(line.sku + " · " + line.name + " × " + line.qty, line.qty > line.available);
      }
    } catch (err) {
      await offlineScan(item);
    }
    nextScan();
  }

  // The box does not answer: the till's own copy of the catalogue prices the line.
  async function offlineScan(item) {
    const product = window.tillOffline ? await window.tillOffline.findProduct(item.code) : null;
    if (product) {
      const line = addOrIncrement(product, item.qty);
      say(line.sku + " · " + line.name + " × " + line.qty + " (the box is away: priced from this till's copy)",
          line.qty > line.available);
    } else if (!item.picked && window.tillOffline && (await window.tillOffline.search(item.code, 8)).length) {
      await notACode(item, "No product with code " + item.code + " on this till.");
    } else {
      say("Could not look up " + item.code + ": the box does not answer and this till does not know the code.", true);
    }
  }

  // Enter on something that is no code: the words are searched; one product found is added, several
  // are listed to pick from (the typed text comes back), none says so.
  async function notACode(item, refusal) {
    const found = /[^\s]/.test(item.code) ? await searchFor(item.code, 8) : [];
    if (found && found.length === 1) {
      const line = addOrIncrement(found[0], item.qty);
      say(line.sku + " · " + line.name + " × " + line.qty, line.qty > line.available);
    } else if (found && found.length > 1 && !scan.value) {
      scan.value = item.text;
      showResults(found, 0);
      say(found.length + " products match " + item.code + ": pick one with ↓ ↑ and Enter.", false);
    } else {
      say(refusal, true);
    }
  }

  // The favourites grid and "often bought with" (counter-picks.js) add a product as a pick from a list.
  window.counterEntry = { add: function (sku) { queueProduct(sku, 1); scan.focus(); } };

  // -- finding products by name as they are typed -------------------------------------------

  const results = document.getElementById("product-results");
  let found = [];      // the products listed under the scan field
  let active = -1;     // the one the arrow keys chose (-1: none; Enter then scans the code)
  let searchSeq = 0;   // answers to older searches are dropped
  let searchTimer = null;

  async function searchFor(term, limit) {
    try {
      const response = await fetch(form.dataset.searchUrl + "?limit=" + limit + "&q=" + encodeURIComponent(term),
                                   { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok || response.redirected) return null;
      return (await response.json()).products;
    } catch (err) {
      return window.tillOffline ? window.tillOffline.search(term, limit) : null;
    }
  }

  function showResults(products, choose) {
    found = products || [];
    results.innerHTML = "";
    found.forEach(function (product, i) {
      const li = document.createElement("li");
      li.id = "product-option-" + i;
      li.setAttribute("role", "option");
      li.dataset.sku = product.sku;
      for (const [cls, text] of [["name", product.name], ["sku", product.sku], ["price", money(product.price_cents)],
                                 ["stock", product.available + " available"]]) {
        const span = document.createElement("span");
        span.className = cls;
        span.textContent = text;
        li.appendChild(span);
      }
      li.addEventListener("mousedown", function (event) { event.preventDefault(); pick(i); });
      results.appendChild(li);
    });
    results.hidden = !found.length;
    scan.setAttribute("aria-expanded", found.length ? "true" : "false");
    highlight(found.length ? choose : -1);
  }

  function hideResults() {
    searchSeq += 1;
    clearTimeout(searchTimer);
    showResults([], -1);
  }

  function highlight(index) {
    active = index;
    Array.from(results.children).forEach(function (li, i) { li.setAttribute("aria-selected", i === index ? "true" : "false"); });
    if (index >= 0) {
      scan.setAttribute("aria-activedescendant", "product-option-" + index);
      results.children[index].scrollIntoView({ block: "nearest" });
    } else {
      scan.removeAttribute("aria-activedescendant");
    }
  }

  function pick(index) {
    const product = found[index];
    const qty = parseScan(scan.value.trim()).qty;
    scan.value = "";
    hideResults();
    say("Adding " + product.name + "…", false);
    queueProduct(product.sku, qty);
    scan.focus();
  }

  scan.addEventListener("input", function () {
    clearTimeout(searchTimer);
    const term = parseScan(scan.value.trim()).code;
    if (term.length < 2) { hideResults(); return; }
    // A scanner types a whole code in milliseconds and presses Enter before this fires.
    searchTimer = setTimeout(async function () {
      const seq = ++searchSeq;
      const products = await searchFor(term, 8);
      if (seq === searchSeq && products && parseScan(scan.value.trim()).code === term) showResults(products, -1);
    }, 120);
  });

  scan.addEventListener("keydown", function (event) {
    if ((event.key === "ArrowDown" || event.key === "ArrowUp") && found.length) {
      event.preventDefault();
      const step = event.key === "ArrowDown" ? 1 : -1;
      highlight(active < 0 ? (step > 0 ? 0 : found.length - 1) : (active + step + found.length) % found.length);
      return;
    }
    if (event.key === "Escape" && found.length) { hideResults(); return; }
    if (event.key !== "Enter" || event.ctrlKey) return;
    event.preventDefault();
    if (active >= 0 && found[active]) { pick(active); return; }
    const text = scan.value.trim();
    scan.value = "";
    hideResults();
    if (text) queueScan(text);
  });
  scan.addEventListener("blur", function () { setTimeout(function () { if (document.activeElement !== scan) hideResults(); }, 150); });

  // -- customer -----------------------------------------------------------------------------

  const customerSearch = document.getElementById("customer-search");
  const customerResults = document.getElementById("customer-results");
  const customerId = document.getElementById("customer_id");
  const chosen = document.getElementById("customer-chosen");
  const newCustomer = document.getElementById("new-customer");

  function chooseCustomer(customer) {
    customerId.value = customer ? customer.id : "";
    chosen.hidden = !customer;
    document.getElementById("customer-chosen-name").textContent = customer ? customer.name : "";
    document.getElementById("customer-chosen-phone").textContent = customer && customer.phone ? customer.phone : "";
    document.getElementById("customer-search-field").hidden = !!customer;
    customerResults.innerHTML = "";
    if (customer) { newCustomer.open = false; scan.focus(); } else { customerSearch.focus(); }
  }

  async function searchCustomers() {
    const term = customerSearch.value.trim();
    customerResults.innerHTML = "";
    if (!term) return;
    const response = await fetch(form.dataset.customerUrl + "?limit=8&q=" + encodeURIComponent(term),
                                 { headers: { Accept: "application/json" }, credentials: "same-origin" });
    const found = response.ok ? (await response.json()).customers : [];
    if (!found.length) {
      // Nobody yet: open the new-customer fields with what was typed.
      const li = document.createElement("li");
      li.className = "hint";
      li.textContent = "No customer found: fill in New customer below.";
      customerResults.appendChild(li);
      newCustomer.open = true;
      const target = /\d{4,}/.test(term) ? "new_customer_phone" : "new_customer_name";
      document.getElementById(target).value = term;
      document.getElementById(target === "new_customer_phone" ? "new_customer_name" : "new_customer_phone").focus();
      return;
    }
    for (const customer of found) {
      const li = document.createElement("li");
      const button = document.createElement("button");
      button.type = "button";
      button.className = "result";
      button.textContent = customer.name + (customer.phone ? " · " + customer.phone : "") + (customer.email ? " · " + customer.email : "");
      button.addEventListener("click", function () { chooseCustomer(customer); });
      li.appendChild(button);
      customerResults.appendChild(li);
    }
    customerResults.querySelector("button").focus();
  }

  customerSearch.addEventListener("keydown", function (event) {
    if (event.key === "Enter") { event.preventDefault(); searchCustomers(); }
  });
  customerResults.addEventListener("keydown", function (event) {
    const buttons = Array.from(customerResults.querySelectorAll("button"));
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < buttons.length - 1) { event.preventDefault(); buttons[at + 1].focus(); }
    if (event.key === "ArrowUp") { event.preventDefault(); (at > 0 ? buttons[at - 1] : customerSearch).focus(); }
  });
  document.getElementById("customer-clear").addEventListener("click", function () { chooseCustomer(null); });

  // -- submitting ---------------------------------------------------------------------------

  function submitOrder() {
    if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
  }

  form.addEventListener("submit", function (event) {
    const bad = problems();
    let message = "";
    if (submitting) message = "The order is being sent…";
    else if (busy || pending.length) message = "Still looking up a scan; try again in a moment.";
    else if (!lines.length) message = "Scan at least one product first.";
    else if (bad.length) message = "Fix the marked lines first: " + bad.map(function (l) {
      return "line " + (lines.indexOf(l) + 1) + " (" + l.sku + ")" + (l.qty < 1 ? ": " + qtyProblem(l) : "");
    }).join("; ");
    const payment = !message && window.paymentPanel ? window.paymentPanel.check() : null;
    if (payment) message = "Check the payment: " + payment.message;
    if (message) {
      event.preventDefault();
      if (!submitting) {
        submitMessage.textContent = message;
        submitMessage.hidden = false;
        const first = payment ? payment.element : bad.length ? bad[0].row.querySelector(".qty") : scan;
        first.focus();
      }
      return;
    }
    // Stops a second click; the server's per-form key stops every other kind of repeat.
    submitting = true;
    submitButton.disabled = true;
    submitButton.textContent = window.paymentPanel && window.paymentPanel.hasRows() ? "Paying…" : "Sending…";
    if (!window.tillOffline) return;
    // Posted only once the box answers; else the sale is kept on the till (a post to a box that is
    // away would leave an error page, and the sale with it).
    event.preventDefault();
    window.tillOffline.boxAnswers().then(async function (answers) {
      if (!answers) { keepOnTill(); return; }
      try { await window.tillOffline.remember(saleOnTill()); } catch (err) { /* posted all the same */ }
      form.submit();
    });
  });

  function freshFormKey() {
    const bytes = new Uint8Array(18);
    window.crypto.getRandomValues(bytes);  // randomUUID needs HTTPS; a shop LAN may be plain HTTP
    formKey.value = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // The sale on screen as the till keeps it (key: this form's key).
  function saleOnTill() {
    return {
      key: formKey.value, taken_at: new Date().toISOString(), by: form.dataset.user || "",
      channel: channelInput.value, note: noteInput.value.trim(), customer_id: customerId.value ? parseInt(customerId.value, 10) : null,
      lines: lines.map((l) => ({ sku: l.sku, name: l.name, qty: l.qty, price_cents: l.price_cents })),
      payments: window.paymentPanel && window.paymentPanel.hasRows() ? window.paymentPanel.taken() : null,
    };
  }

  async function keepOnTill() {
    const sale = saleOnTill();
    try {
      await window.tillOffline.keep(sale);
    } catch (err) {
      submitting = false;
      submitButton.disabled = false;
      submitButton.innerHTML = submitLabel;
      submitMessage.textContent = "The box does not answer and this browser would not keep the sale: park it (F3) and try again.";
      submitMessage.hidden = false;
      return;
    }
    showOfflineReceipt(sale);
    submitting = false;
    submitButton.disabled = false;
    clearSale();
    freshFormKey();
    submitButton.innerHTML = submitLabel;
    say("The box does not answer: the sale is kept on this till and sent when it does. F10 prints its receipt.", false);
    scan.focus();
  }

  // -- the receipt of a sale kept on the till -------------------------------------------------
  const receipt = document.getElementById("offline-receipt");

  function showOfflineReceipt(sale) {
    receipt.querySelector(".sale-key").textContent = sale.key;
    receipt.querySelector(".taken-at").textContent = new Date(sale.taken_at).toLocaleString();
    const body = receipt.querySelector(".receipt-lines");
    body.innerHTML = "";
    let total = 0;
    for (const line of sale.lines) {
      const tr = document.createElement("tr");
      for (const [cls, text] of [["", line.name], ["num", String(line.qty)], ["num", money(line.price_cents * line.qty)]]) {
        const td = document.createElement("td");
        td.className = cls;
        td.textContent = text;
        tr.appendChild(td);
      }
      body.appendChild(tr);
      total += line.price_cents * line.qty;
    }
    receipt.querySelector(".receipt-total").textContent = money(total);
    const paid = receipt.querySelector(".receipt-payments");
    paid.innerHTML = "";
    for (const p of sale.payments || []) {
      const li = document.createElement("li");
      li.textContent = p.method + " " + money(p.amount_cents) + (p.tendered_cents ? " · tendered " + money(p.tendered_cents) +
        " · change " + money(p.tendered_cents - p.amount_cents) : "");
      paid.appendChild(li);
    }
    receipt.hidden = false;
  }

  document.getElementById("print-offline-receipt").addEventListener("click", function () { window.print(); });

  // With payments on screen the button pays and finishes the sale.
  const submitLabel = submitButton.innerHTML;
  form.addEventListener("payment-change", function (event) {
    if (submitting) return;
    submitMessage.hidden = true;
    submitButton.innerHTML = event.detail.rows ? "Pay and finish <kbd>F9</kbd>" : submitLabel;
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "F5" || (event.key === "r" && event.ctrlKey)) {
      // Chromium's reload asks the box for the page first and shows an error page while the box is
      // away; opening the address again takes the page from the browser's cache.
      event.preventDefault();
      window.location.assign(window.location.pathname);
    } else if (event.key === "F10" && !receipt.hidden) {
      event.preventDefault();
      window.print();
    } else if (event.key === "F9" || (event.key === "Enter" && (event.ctrlKey || event.metaKey))) {
      event.preventDefault();
      submitOrder();
    } else if (event.key === "F2") {
      event.preventDefault();
      if (customerId.value) chooseCustomer(null); else customerSearch.focus();
    } else if (event.key === "Escape") {
      scan.focus();
    } else if (event.key === "Enter" && event.target.tagName === "INPUT" && event.target !== scan
               && event.target !== customerSearch) {
      // Enter in a quantity or a text field goes back to scanning instead of submitting half an order.
      event.preventDefault();
      scan.focus();
    }
  });

  // -- parked sales -------------------------------------------------------------------------
  // Kept in this browser's localStorage (this slice: a parked sale lives on the till that parked it).

  const PARKED_KEY = "store-appliance.parked-sales.v1";
  const parkedBox = document.getElementById("parked");
  const parkedList = document.getElementById("parked-list");
  const parkedCount = document.getElementById("parked-count");
  const noteInput = document.getElementById("note");
  const channelInput = document.getElementById("channel");
  let parkedOnLeave = null; // the id parked when the page was left (taken back if the page comes back)

  function readParked() {
    try {
      const list = JSON.parse(window.localStorage.getItem(PARKED_KEY) || "[]");
      return Array.isArray(list) ? list.filter((sale) => sale && Array.isArray(sale.lines)) : [];
    } catch (err) {
      return [];
    }
  }

  function writeParked(list) {
    try {
      window.localStorage.setItem(PARKED_KEY, JSON.stringify(list));
      return true;
    } catch (err) {
      return false;
    }
  }

  function saleOnScreen() {
    const customer = customerId.value ? { id: customerId.value, name: document.getElementById("customer-chosen-name").textContent,
                                          phone: document.getElementById("customer-chosen-phone").textContent } : null;
    return {
      id: Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8),
      parked_at: new Date().toISOString(), by: form.dataset.user || "",
      lines: lines.map((l) => ({ sku: l.sku, name: l.name, price_cents: l.price_cents, available: l.available,
                                 qty: l.qty, typed: l.typed })),
      customer: customer, note: noteInput.value, channel: channelInput.value,
    };
  }

  // Parks what is on screen; the id, or null when there is nothing to park or the browser refused.
  function parkSale() {
    if (!lines.length || submitting) return null;
    const sale = saleOnScreen();
    const list = readParked();
    list.push(sale);
    return writeParked(list) ? sale.id : null;
  }

  function clearSale() {
    for (const line of lines) line.row.remove();
    lines.length = 0;
    hideResults();
    customerId.value = "";
    chosen.hidden = true;
    document.getElementById("customer-search-field").hidden = false;
    customerSearch.value = "";
    customerResults.innerHTML = "";
    noteInput.value = "";
    document.querySelectorAll("#pay-rows .pay-remove").forEach((button) => button.click());
    refresh();
  }

  function describe(sale) {
    const items = sale.lines.reduce((n, l) => n + Math.max(l.qty || 0, 0), 0);
    const total = sale.lines.reduce((n, l) => n + l.price_cents * Math.max(l.qty || 0, 0), 0);
    const when = new Date(sale.parked_at);
    const time = isNaN(when) ? "" : when.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    return items + " item(s) · " + money(total) + " · " + sale.lines.map((l) => l.name).slice(0, 3).join(", ") +
      (sale.lines.length > 3 ? "…" : "") + (sale.customer ? " · " + sale.customer.name : "") +
      " · parked " + time + (sale.by ? " by " + sale.by : "");
  }

  function showParked() {
    const list = readParked();
    parkedList.innerHTML = "";
    list.slice().reverse().forEach(function (sale) {
      const li = document.createElement("li");
      li.dataset.id = sale.id;
      const resume = document.createElement("button");
      resume.type = "button";
      resume.className = "resume";
      resume.textContent = "Resume: " + describe(sale);
      resume.addEventListener("click", function () { resumeSale(sale.id); });
      const discard = document.createElement("button");
      discard.type = "button";
      discard.className = "link discard";
      discard.textContent = "Discard";
      discard.addEventListener("click", function () {
        if (!window.confirm("Discard the parked sale (" + describe(sale) + ")?")) return;
        writeParked(readParked().filter((s) => s.id !== sale.id));
        showParked();
        scan.focus();
      });
      li.append(resume, discard);
      parkedList.appendChild(li);
    });
    parkedCount.textContent = list.length;
    parkedBox.classList.toggle("has-parked", list.length > 0);
  }

  function parkKey() {
    if (!lines.length) { say("Nothing to park: this sale has no lines.", true); scan.focus(); return; }
    const id = parkSale();
    if (!id) { say("This browser would not keep the sale; it stays on screen.", true); return; }
    clearSale();
    showParked();
    say("Sale parked: Shift+F3 lists the parked sales. Ready for the next customer.", false);
    scan.focus();
  }

  function resumeSale(id) {
    const list = readParked();
    const sale = list.find((s) => s.id === id);
    if (!sale) { showParked(); return; }
    let rest = list.filter((s) => s.id !== id);
    if (lines.length) rest.push(saleOnScreen()); // the sale on screen is parked in its place
    if (!writeParked(rest)) return;
    clearSale();
    for (const line of sale.lines) {
      const added = addOrIncrement(line, line.qty);
      added.qty = line.qty;
      added.typed = line.typed === undefined ? null : line.typed;
    }
    noteInput.value = sale.note || "";
    if (sale.channel) channelInput.value = sale.channel;
    refresh();
    showParked();
    if (sale.customer) chooseCustomer(sale.customer); else scan.focus();
    say("Resumed the sale parked at " + describe(sale).split(" · parked ")[1] + ".", false);
    freshStock();
  }

  // A resumed sale: the stock figures of its lines are asked again (they may have changed meanwhile).
  async function freshStock() {
    for (const line of lines.slice()) {
      try {
        const response = await fetch(form.dataset.lookupUrl + "?code=" + encodeURIComponent(line.sku),
                                     { headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (response.ok) { line.available = (await response.json()).available; refresh(); }
      } catch (err) { /* the figure from when it was parked stays */ }
    }
  }

  document.getElementById("park-sale").addEventListener("click", parkKey);
  parkedList.addEventListener("keydown", function (event) {
    const buttons = Array.from(parkedList.querySelectorAll("button.resume"));
    const at = buttons.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at >= 0 && at < buttons.length - 1) { event.preventDefault(); buttons[at + 1].focus(); }
    if (event.key === "ArrowUp" && at > 0) { event.preventDefault(); buttons[at - 1].focus(); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "F3") return;
    event.preventDefault();
    if (event.shiftKey) {
      const first = parkedList.querySelector("button.resume");
      if (first) first.focus(); else say("No parked sales.", false);
    } else {
      parkKey();
    }
  });
  // Leaving the page (a link, a reload, closing the tab) with an unfinished sale parks it.
  window.addEventListener("pagehide", function () {
    if (!submitting && lines.length && !parkedOnLeave) parkedOnLeave = parkSale();
  });
  // Back to this very page from the browser's cache: the sale is still on screen, so it is not parked.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted && parkedOnLeave) {
      writeParked(readParked().filter((s) => s.id !== parkedOnLeave));
      parkedOnLeave = null;
      showParked();
    }
  });
  window.addEventListener("storage", function (event) { if (event.key === PARKED_KEY) showParked(); });

  // -- after a refused submit: the lines and customer come back as they were ----------------
  for (const line of state.lines || []) {
    const added = addOrIncrement(line, line.qty);
    added.qty = line.qty;
    added.error = (state.errors || {})[line.sku] || "";
    const typed = (state.typed || {})[line.sku];
    if (typed !== undefined) { added.typed = typed; added.error = ""; }
  }
  if (state.customer) chooseCustomer(state.customer);
  // A page shown again after a refused submit keeps its key (the same sale, sent again); any other load
  // may be a copy from the browser's cache, whose key a sale before this one already used.
  if (!(state.lines || []).length) freshFormKey(); else form.dataset.answeredKey = formKey.value;
  showParked();
  refresh();
  scan.focus();
})();
