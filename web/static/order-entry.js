// Counter order entry: keyboard only. A barcode scanner types the code and Enter into #scan.
// The server stays the judge (stock, prices, idempotency); this script only makes the counter fast
// and shows a line that lacks stock before anyone presses submit.
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
  const lines = []; // {sku, name, price_cents, available, qty, error, row}
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
      line.available = info.available; // the latest figure from the server
      line.error = "";
    } else {
      line = { sku: info.sku, name: info.name, price_cents: info.price_cents, available: info.available, qty: qty, error: "" };
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
      '<td class="num"><input type="hidden" name="line_sku"><input class="qty" name="line_qty" type="number" min="1" step="1" inputmode="numeric"></td>' +
      '<td class="num price"></td><td class="num line-total"></td><td class="stock"></td>' +
      '<td><button type="button" class="link remove" tabindex="-1">Remove</button></td>';
    tr.querySelector(".sku").textContent = line.sku;
    tr.querySelector(".name").textContent = line.name;
    tr.querySelector('input[name="line_sku"]').value = line.sku;
    const qtyInput = tr.querySelector(".qty");
    qtyInput.setAttribute("aria-label", "Quantity of " + line.sku);
    qtyInput.addEventListener("input", function () {
      const value = parseInt(qtyInput.value, 10);
      line.qty = Number.isFinite(value) ? value : 0;
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
      if (qtyInput !== editing) qtyInput.value = line.qty;
      total += line.price_cents * Math.max(line.qty, 0);
      items += Math.max(line.qty, 0);
      line.row.querySelector(".price").textContent = money(line.price_cents);
      line.row.querySelector(".line-total").textContent = money(line.price_cents * Math.max(line.qty, 0));
      const stock = line.row.querySelector(".stock");
      const short = line.qty > line.available;
      const bad = line.qty < 1;
      line.row.classList.toggle("short", short || bad || !!line.error);
      qtyInput.setAttribute("aria-invalid", short || bad ? "true" : "false");
      stock.textContent = line.error || (bad ? "Enter a quantity of 1 or more."
        : short ? "Only " + line.available + " available" : line.available + " available");
      stock.classList.toggle("field-error", short || bad || !!line.error);
    }
    noLines.hidden = lines.length > 0;
    totalCell.textContent = money(total);
    if (window.paymentPanel) window.paymentPanel.setDue(total);
    itemCount.textContent = items;
    if (!problems().length) submitMessage.hidden = true;
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
    pending.push(parseScan(text));
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
      if (!response.ok) {
        say(data.error || "Unknown code " + item.code, true);
      } else {
        const line = addOrIncrement(data, item.qty);
        say(line.sku + " · " + line.name + " × " + line.qty, line.qty > line.available);
      }
    } catch (err) {
      say("Could not look up " + item.code + ": check the connection and scan again.", true);
    }
    nextScan();
  }

  scan.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || event.ctrlKey) return;
    event.preventDefault();
    const text = scan.value.trim();
    scan.value = "";
    if (text) queueScan(text);
  });

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
    else if (bad.length) message = "Fix the marked lines first: " + bad.map((l) => l.sku).join(", ") + ".";
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
  });

  // With payments on screen the button pays and finishes the sale.
  const submitLabel = submitButton.innerHTML;
  form.addEventListener("payment-change", function (event) {
    if (submitting) return;
    submitMessage.hidden = true;
    submitButton.innerHTML = event.detail.rows ? "Pay and finish <kbd>F9</kbd>" : submitLabel;
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "F9" || (event.key === "Enter" && (event.ctrlKey || event.metaKey))) {
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

  // -- after a refused submit: the lines and customer come back as they were ----------------
  for (const line of state.lines || []) {
    const added = addOrIncrement(line, line.qty);
    added.qty = line.qty;
    added.error = (state.errors || {})[line.sku] || "";
  }
  if (state.customer) chooseCustomer(state.customer);
  refresh();
  scan.focus();
})();
