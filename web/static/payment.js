// The payment panel (#payment): one row per payment; several rows are a split. F4 adds a cash row,
// F7 a card row, F8 an "other" row, each for what is still to pay; Enter in a payment field submits.
// Change (cash tendered - amount) is shown in large type as it is typed. The server stays the judge.
(function () {
  "use strict";
  const panel = document.getElementById("payment");
  if (!panel) return;
  const form = panel.closest("form");
  const rowsBox = document.getElementById("pay-rows");
  const template = document.getElementById("pay-row-template");
  const dueOut = document.getElementById("pay-due");
  const leftOut = document.getElementById("pay-left");
  const changeOut = document.getElementById("pay-change");
  const message = document.getElementById("pay-message");
  let dueCents = panel.dataset.dueCents ? parseInt(panel.dataset.dueCents, 10) : 0;

  function cents(text) {
    const m = /^\s*(\d{1,9})(?:[.,](\d{1,2}))?\s*$/.exec(text || "");
    return m ? parseInt(m[1], 10) * 100 + parseInt((m[2] || "0").padEnd(2, "0"), 10) : null;
  }
  function money(c) {
    return (c / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2, useGrouping: false });
  }
  function rows() { return Array.from(rowsBox.querySelectorAll("[data-row]")); }
  function parts(row) {
    return { method: row.querySelector(".pay-method"), amount: row.querySelector(".pay-amount"),
             tendered: row.querySelector(".pay-tendered"), tenderedField: row.querySelector(".tendered") };
  }
  function setError(row, which, text) {
    const box = row.querySelector('[data-error="' + which + '"]');
    box.textContent = text || "";
    box.closest(".field").classList.toggle("has-error", !!text);
    const input = which === "method" ? parts(row).method : parts(row)[which];
    input.setAttribute("aria-invalid", text ? "true" : "false");
  }
  function paidCents() {
    return rows().reduce((sum, row) => sum + Math.max(cents(parts(row).amount.value) || 0, 0), 0);
  }

  function wire(row) {
    const p = parts(row);
    p.method.addEventListener("change", function () {
      p.tenderedField.hidden = p.method.value !== "cash";
      if (p.tenderedField.hidden) p.tendered.value = "";
      setError(row, "method", "");
      refresh();
    });
    p.amount.addEventListener("input", function () { delete row.dataset.auto; setError(row, "amount", ""); refresh(); });
    p.tendered.addEventListener("input", function () { setError(row, "tendered", ""); refresh(); });
    row.querySelector(".pay-remove").addEventListener("click", function () {
      row.remove();
      refresh();
      const last = rows().pop();
      if (last) parts(last).amount.focus();
    });
  }

  // A new row for what is still to pay; a last row nobody has typed into yet just changes its method
  // (F4 then F7: the customer chose the card after all).
  function addRow(method) {
    const all = rows();
    const last = all[all.length - 1];
    let row;
    if (last && last.dataset.auto && !parts(last).tendered.value.trim()) {
      row = last;
      parts(row).amount.value = "";
    } else {
      row = template.content.firstElementChild.cloneNode(true);
      rowsBox.appendChild(row);
      wire(row);
    }
    const left = Math.max(dueCents - paidCents(), 0);
    const p = parts(row);
    setError(row, "amount", "");
    setError(row, "tendered", "");
    p.method.value = method;
    p.tenderedField.hidden = method !== "cash";
    p.amount.value = left > 0 ? money(left) : "";
    row.dataset.auto = "1";
    refresh();
    const target = method === "cash" && left > 0 ? p.tendered : p.amount;
    target.focus();
    target.select();
  }

  // Counter entry: the due follows the lines; a single row nobody typed an amount into follows it too.
  function setDue(c) {
    if (c === dueCents) return;
    dueCents = c;
    const all = rows();
    if (all.length === 1 && all[0].dataset.auto) parts(all[0]).amount.value = money(c);
    refresh();
  }

  function refresh() {
    const paid = paidCents();
    let change = 0;
    for (const row of rows()) {
      const p = parts(row);
      const amount = cents(p.amount.value), tendered = cents(p.tendered.value);
      if (p.method.value === "cash" && amount !== null && tendered !== null && tendered > amount) change += tendered - amount;
    }
    dueOut.textContent = money(dueCents);
    leftOut.textContent = money(dueCents - paid);
    changeOut.textContent = money(change);
    panel.classList.toggle("has-rows", rows().length > 0);
    panel.classList.toggle("has-change", change > 0);
    if (message.dataset.client) { message.hidden = true; message.textContent = ""; delete message.dataset.client; }
    panel.dispatchEvent(new CustomEvent("payment-change", { bubbles: true, detail: { rows: rows().length } }));
  }

  // The first problem, said on its field: {message, element}; null when the payments can be sent.
  function check() {
    let first = null;
    function problem(row, which, text) {
      setError(row, which, text);
      const p = parts(row);
      if (!first) first = { message: text, element: which === "method" ? p.method : p[which] };
    }
    for (const row of rows()) {
      const p = parts(row);
      const amount = cents(p.amount.value);
      if (amount === null) { problem(row, "amount", "Enter an amount like 12.50."); continue; }
      if (amount <= 0) { problem(row, "amount", "Enter an amount above zero."); continue; }
      if (p.method.value === "cash" && p.tendered.value.trim()) {
        const tendered = cents(p.tendered.value);
        if (tendered === null) problem(row, "tendered", "Enter the cash handed over, like 20.00.");
        else if (tendered < amount) problem(row, "tendered", "Less than the amount: " + money(amount - tendered) + " more is needed.");
      } else if (p.method.value !== "cash" && amount > dueCents) {
        problem(row, "amount", "A " + p.method.value + " payment cannot be more than the " + money(dueCents) + " due.");
      }
    }
    if (!first && rows().length) {
      const paid = paidCents();
      if (paid !== dueCents) {
        const text = "The payments add up to " + money(paid) + "; " + money(dueCents) + " is due (" +
          money(Math.abs(dueCents - paid)) + (paid < dueCents ? " short)." : " too much).");
        message.textContent = text;
        message.hidden = false;
        message.dataset.client = "1";
        first = { message: text, element: parts(rows()[rows().length - 1]).amount };
      }
    }
    return first;
  }

  document.addEventListener("keydown", function (event) {
    const method = { F4: "cash", F7: "card", F8: "other" }[event.key];
    if (method) { event.preventDefault(); addRow(method); }
  });
  panel.addEventListener("keydown", function (event) {
    const row = event.target.closest && event.target.closest("[data-row]");
    if (row && event.key === "Delete" && event.ctrlKey) {  // Ctrl+Delete removes this payment
      event.preventDefault();
      row.querySelector(".pay-remove").click();
      return;
    }
    if (event.key !== "Enter" || !/^(INPUT|SELECT)$/.test(event.target.tagName)) return;
    event.preventDefault();
    event.stopPropagation();
    if (typeof form.requestSubmit === "function") form.requestSubmit(); else form.submit();
  });
  if (panel.dataset.standalone !== undefined) {
    form.addEventListener("submit", function (event) {
      const found = check();
      if (found) { event.preventDefault(); found.element.focus(); }
    });
  }

  rows().forEach(wire);
  refresh();
  // The payments on screen as the API takes them (a sale the till keeps while the box is away).
  function taken() {
    return rows().map(function (row) {
      const p = parts(row);
      const tendered = p.method.value === "cash" ? cents(p.tendered.value) : null;
      return { method: p.method.value, amount_cents: cents(p.amount.value), tendered_cents: tendered };
    });
  }

  window.paymentPanel = { check: check, setDue: setDue, hasRows: function () { return rows().length > 0; }, addRow: addRow,
                          taken: taken };
})();
