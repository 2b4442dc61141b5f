"""The largest money amounts and quantities the box accepts (docs/api.md "Limits").

Chosen so that every sum the box computes stays inside 64-bit integers (SQLite's INTEGER,
PostgreSQL's BIGINT) with a wide margin, and every stored single value inside 32 bits where the
column is a PostgreSQL INTEGER:

- a line total is at most MAX_LINE_QTY x MAX_PRICE_CENTS = 10^13 cents, and so is an order's total
  (MAX_ORDER_TOTAL_CENTS, refused above); summing 900,000 such orders in a report still fits 2^63;
- a stock level holds at most MAX_ON_HAND units, so its value at cost is at most 10^15 cents.
"""
from __future__ import annotations

MAX_PRICE_CENTS = 100_000_000          # price or cost of one unit: 1,000,000.00
MAX_LINE_QTY = 100_000                 # units on one order or return line
MAX_ORDER_LINES = 500
MAX_ORDER_TOTAL_CENTS = MAX_LINE_QTY * MAX_PRICE_CENTS   # 10^13 cents
MAX_MOVE_QTY = 1_000_000               # units received or adjusted at once
MAX_ON_HAND = 10_000_000               # units one stock level (product x location) holds; counts too
MAX_ID = 2**63 - 1                     # the largest id a client may name (larger: not found / refused)

DOCUMENTED = {
    "price_cents, cost_cents": MAX_PRICE_CENTS,
    "order line qty, return line qty": MAX_LINE_QTY,
    "lines per order": MAX_ORDER_LINES,
    "order total_cents": MAX_ORDER_TOTAL_CENTS,
    "stock receive / adjust qty": MAX_MOVE_QTY,
    "on hand per product and location, stocktake count, reorder point and quantity": MAX_ON_HAND,
}
