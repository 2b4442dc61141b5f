"""Finding products at the counter without a scanner: by words of the name, SKU or barcode typed in any
order and any case, and codes typed in lower case. One SQL statement per search, on both engines."""
from __future__ import annotations

from peewee import Case, fn

from .inventory import product_by_code as exact_product_by_code
from .models import Location, Product, StockLevel

MAX_RESULTS = 20
MAX_WORDS = 6
MAX_TERM = 100


def words_of(term: str | None) -> list[str]:
    """The words searched for: lower-cased, at most MAX_WORDS, the term cut at MAX_TERM characters."""
    return (term or "").strip()[:MAX_TERM].lower().split()[:MAX_WORDS]


def search_products(term: str | None, limit: int = 8) -> list[dict]:
    """Products for sale whose name, SKU or barcode contains every word of `term`, best first: an exact
    code, then names starting with the first word, then by name. Each with how many can be sold."""
    words = words_of(term)
    if not words:
        return []
    limit = max(1, min(int(limit), MAX_RESULTS))
    name, sku, barcode = fn.LOWER(Product.name), fn.LOWER(Product.sku), fn.LOWER(Product.barcode)
    condition = Product.active == True  # noqa: E712 (a SQL expression)
    for word in words:
        condition &= name.contains(word) | sku.contains(word) | barcode.contains(word)
    whole = " ".join(words)
    rank = Case(None, [(sku == whole, 0), (barcode == whole, 0), (name.startswith(words[0]), 1)], 2)
    available = (StockLevel.select(fn.COALESCE(fn.SUM(StockLevel.on_hand - StockLevel.reserved), 0))
                 .join(Location).where((StockLevel.product == Product.id) & Location.active))
    query = (Product.select(Product.sku, Product.barcode, Product.name, Product.price_cents,
                            available.alias("available"))
             .where(condition).order_by(rank, Product.name, Product.sku).limit(limit).dicts())
    return [{"sku": row["sku"], "barcode": row["barcode"], "name": row["name"], "price_cents": row["price_cents"],
             "available": int(row["available"] or 0)} for row in query]


def product_by_code(code: str) -> Product | None:
    """A scanned or typed code: exactly as typed first, then the one product whose barcode or SKU is that
    code in any case (a code typed in lower case). None when unknown or when the case cannot tell."""
    code = (code or "").strip()
    if not code:
        return None
    found = exact_product_by_code(code)
    if found is not None:
        return found
    lowered = code.lower()
    matches = list(Product.select().where((fn.LOWER(Product.barcode) == lowered) | (fn.LOWER(Product.sku) == lowered))
                   .limit(3))
    barcodes = [p for p in matches if (p.barcode or "").lower() == lowered]
    if len(barcodes) == 1:
        return barcodes[0]
    return matches[0] if len(matches) == 1 else None

