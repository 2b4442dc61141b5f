// The till keeps selling while the box is away (a restart, a restore, a failover to the standby behind
// the same address). Without a service worker: the page and its assets come from the browser's cache
// (the box sends them cacheable for a shift, web/pages/orders.py), and this script keeps in IndexedDB
//  - "catalog": every product for sale with its price and stock, refreshed whenever the box answers,
//    so lines can be found and priced while it does not;
//  - "outbox": each sale taken while the box was away, under the Idempotency-Key the till gave it.
// The outbox is sent as soon as a box answers (on page load, on the browser's `online` event, and
// again and again with a growing pause): the box scopes the key to the signed-in user and replays a
// key it has seen, so a sale sent twice (an answer lost on the way) is still one order.
(function () {
  "use strict";
  const form = document.getElementById("order-form");
  if (!form || !window.indexedDB) return;
  const banner = document.getElementById("till-outbox");
  const DB_NAME = "store-appliance-till";
  const FIRST_PAUSE_MS = 1000;
  const LONGEST_PAUSE_MS = 15000;   // a box back from a restart is noticed within this
  const PROBE_TIMEOUT_MS = 1500;
  const POSTED_GRACE_MS = 30000;
  // A posted form not confirmed for this long is not sent again blindly (the box forgets form keys
  // after orders.idempotency_key_days): it is listed for a manager to look up instead.
  const POSTED_RESEND_MS = 24 * 3600 * 1000;
  let dbPromise = null;
  let sending = false;
  let pause = FIRST_PAUSE_MS;
  let retryTimer = null;
  let away = false;                 // the last request to the box failed
  const arrived = [];               // order numbers sent from this page
  let problem = "";                 // why the last send stopped (said on the banner)

  function openDb() {
    if (!dbPromise) {
      dbPromise = new Promise(function (resolve, reject) {
        const request = indexedDB.open(DB_NAME, 1);
        request.onupgradeneeded = function () {
          request.result.createObjectStore("outbox", { keyPath: "key" });
          request.result.createObjectStore("catalog", { keyPath: "sku" });
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return dbPromise;
  }

  // One transaction on `store`; `work(objectStore)` may return a request whose result is the answer.
  async function inStore(store, mode, work) {
    const db = await openDb();
    return new Promise(function (resolve, reject) {
      const tx = db.transaction(store, mode);
      const request = work(tx.objectStore(store));
      tx.oncomplete = function () { resolve(request ? request.result : undefined); };
      tx.onerror = tx.onabort = function () { reject(tx.error); };
    });
  }

  function csrfInput() { return form.querySelector('input[name="csrf_token"]'); }

  // -- the catalogue --------------------------------------------------------------------------

  async function refreshCatalog() {
    let data;
    try {
      const response = await fetch(form.dataset.catalogUrl, { headers: { Accept: "application/json" },
                                                              credentials: "same-origin", cache: "no-store" });
      if (response.redirected || !response.ok) {
        if (response.redirected) setProblem("You were signed out: sign in again so the waiting sales can be sent.");
        return;
      }
      data = await response.json();
    } catch (err) {
      away = true;
      return;
    }
    away = false;
    if (data.user !== form.dataset.user) {
      // A copy from the browser's cache made for whoever used this till before: the box makes a fresh one.
      window.location.reload();
      return;
    }
    // A page from the browser's cache carries the CSRF token of the session it was made in.
    csrfInput().value = data.csrf_token;
    await inStore("catalog", "readwrite", function (store) {
      store.clear();
      for (const product of data.products) store.put(product);
      return null;
    });
    banner.dataset.catalog = data.products.length;
  }

  async function catalog() {
    try { return (await inStore("catalog", "readonly", (store) => store.getAll())) || []; } catch (err) { return []; }
  }

  // A scanned or typed code, as the box finds it: the SKU or barcode exactly, else in any case.
  async function findProduct(code) {
    const all = await catalog();
    const lowered = code.toLowerCase();
    return all.find((p) => p.sku === code || p.barcode === code)
      || all.find((p) => (p.barcode || "").toLowerCase() === lowered)
      || all.find((p) => p.sku.toLowerCase() === lowered) || null;
  }

  // Products whose name, SKU or barcode holds every typed word, in any order and case.
  async function search(term, limit) {
    const words = term.toLowerCase().split(/\s+/).filter(Boolean);
    if (!words.length) return [];
    const all = await catalog();
    return all.filter(function (p) {
      const text = (p.name + " " + p.sku + " " + (p.barcode || "")).toLowerCase();
      return words.every((w) => text.includes(w));
    }).sort((a, b) => a.name.localeCompare(b.name)).slice(0, limit);
  }

  // What a kept sale takes is no longer there for the next one (until the box says otherwise).
  async function takeFromCatalog(lines) {
    await inStore("catalog", "readwrite", function (store) {
      for (const line of lines) {
        const request = store.get(line.sku);
        request.onsuccess = function () {
          if (request.result) store.put(Object.assign(request.result, { available: request.result.available - line.qty }));
        };
      }
      return null;
    });
  }

  // -- is the box there? ----------------------------------------------------------------------

  async function boxAnswers() {
    const controller = new AbortController();
    const timer = setTimeout(function () { controller.abort(); }, PROBE_TIMEOUT_MS);
    try {
      const response = await fetch(form.dataset.healthUrl, { cache: "no-store", signal: controller.signal });
      away = !response.ok;
    } catch (err) {
      away = true;
    } finally {
      clearTimeout(timer);
    }
    return !away;
  }

  // -- the outbox -----------------------------------------------------------------------------

  async function waiting() {
    try {
      const all = (await inStore("outbox", "readonly", (store) => store.getAll())) || [];
      return all.sort((a, b) => (a.taken_at < b.taken_at ? -1 : 1));
    } catch (err) {
      return [];
    }
  }

  // A sale whose form is being posted: kept until the box's answer is seen, so a post whose answer is
  // lost (the box went away while it worked) is sent again under the form's own key, never lost.
  async function remember(sale) {
    await inStore("outbox", "readwrite", (store) => store.put(Object.assign({ via: "form" }, sale)));
  }

  async function keep(sale) {
    await inStore("outbox", "readwrite", (store) => store.put(sale));
    await takeFromCatalog(sale.lines);
    away = true;
    await showState();
    scheduleRetry();
  }

  function setProblem(text) { problem = text; showState(); }

  async function showState() {
    const list = await waiting();
    const refused = list.filter((s) => s.refused);
    // A form posted a moment ago is most likely answered already: not "waiting" until it has been a while.
    const count = list.filter((s) => !s.refused && (s.via !== "form" || Date.now() - Date.parse(s.taken_at) > POSTED_GRACE_MS)).length;
    let text = "";
    if (count) {
      text = count + (count === 1 ? " sale is" : " sales are") + " waiting on this till to be sent to the box" +
        (away ? " (the box does not answer; they are sent as soon as it does)." : ".");
    } else if (arrived.length) {
      text = "All sales sent: " + arrived.length + " arrived at the box (" + arrived.join(", ") + ").";
    }
    if (refused.length) {
      text += " " + refused.length + " refused by the box, kept here for a manager: " +
        refused.map((s) => s.key + ": " + s.refused).join("; ");
    }
    if (problem && count) text += " " + problem;
    banner.textContent = text.trim();
    banner.hidden = !text;
    banner.classList.toggle("waiting", count > 0);
    banner.dataset.waiting = count;
    banner.dataset.arrived = arrived.length;
  }

  function scheduleRetry() {
    clearTimeout(retryTimer);
    retryTimer = setTimeout(flush, pause);
    pause = Math.min(pause * 2, LONGEST_PAUSE_MS);
  }

  // Sends what waits, oldest first; stops at the first that does not get through and tries again later.
  async function flush() {
    if (sending) return;
    sending = true;
    clearTimeout(retryTimer);
    try {
      if (form.dataset.answeredKey) {  // this page is the box's answer to that form (a refusal to fix)
        await inStore("outbox", "readwrite", (store) => store.delete(form.dataset.answeredKey));
        delete form.dataset.answeredKey;
      }
      const list = (await waiting()).filter((s) => !s.refused);
      if (list.length && away) await refreshCatalog();  // today's CSRF token, if the box is back
      for (const sale of list) {
        const outcome = await send(sale);
        if (outcome === "retry") { scheduleRetry(); return; }
      }
      pause = FIRST_PAUSE_MS;
      problem = "";
      if (list.length) refreshCatalog();
    } finally {
      sending = false;
      showState();
    }
  }

  async function send(sale) {
    if (sale.via === "form" && Date.now() - Date.parse(sale.taken_at) > POSTED_RESEND_MS) {
      sale.refused = "posted " + sale.taken_at + " and never confirmed: look it up in the orders list";
      await inStore("outbox", "readwrite", (store) => store.put(sale));
      return "refused";
    }
    let response;
    try {
      response = await fetch(form.dataset.sentLaterUrl, {
        method: "POST", credentials: "same-origin", cache: "no-store",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRF-Token": csrfInput().value },
        body: JSON.stringify({ key: sale.key, via: sale.via || "offline", channel: sale.channel, lines: sale.lines.map((l) => ({ sku: l.sku, qty: l.qty })),
                               customer_id: sale.customer_id, note: sale.note, payments: sale.payments }),
      });
    } catch (err) {
      away = true;
      return "retry";
    }
    away = false;
    if (response.redirected || response.status === 403) {
      problem = "Sign in again on this till so the waiting sales can be sent.";
      await refreshCatalog();
      return "retry";
    }
    const answer = await response.json().catch(() => ({}));
    const formTaken = sale.via === "form" && (response.status === 409 || (response.ok && answer.replayed));
    if (formTaken) {  // the box had taken the form: nothing to say
      await inStore("outbox", "readwrite", (store) => store.delete(sale.key));
      return "sent";
    }
    if (response.ok) {
      await inStore("outbox", "readwrite", (store) => store.delete(sale.key));
      arrived.push(answer.number + (answer.status === "pending" ? " (pending: a manager settles it)" : ""));
      return "sent";
    }
    if (response.status >= 500 || response.status === 429 || response.status === 408) return "retry";
    // The box refuses it for good (a product deleted meanwhile, a bad line): kept, never resent blindly.
    sale.refused = answer.error || "refused (" + response.status + ")";
    await inStore("outbox", "readwrite", (store) => store.put(sale));
    return "refused";
  }

  window.addEventListener("online", flush);
  document.addEventListener("visibilitychange", function () { if (!document.hidden) flush(); });
  window.tillOffline = { keep: keep, remember: remember, boxAnswers: boxAnswers, findProduct: findProduct, search: search, flush: flush,
                         isAway: function () { return away; } };
  refreshCatalog().then(showState).then(flush);
})();
