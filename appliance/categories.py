"""Product categories: a named group a product belongs to (at most one), for the back office's
reports by category.

A category is made the first time a product is put in it (its name as typed, spaces trimmed; names
match whatever their case). Putting a product in a category, moving it or taking it out is audited
("product.category", before/after). The tables are created by `migrate` through cli.wiring's
extra_models, so they need no schema version of their own; reports read a product's category as it
is now, not as it was on the day of a sale.
"""
from __future__ import annotations

from peewee import JOIN, CharField, DateTimeField, ForeignKeyField, fn

from . import audit
from .db import write_transaction
from .errors import Conflict, Invalid, NotFound
from .models import BaseModel, Product, utcnow

MAX_NAME = 100


class Category(BaseModel):
    name = CharField(max_length=MAX_NAME, unique=True)
    created_at = DateTimeField(default=utcnow)


class ProductCategory(BaseModel):
    product = ForeignKeyField(Product, unique=True, on_delete="CASCADE")
    category = ForeignKeyField(Category, backref="products", on_delete="RESTRICT")


MODELS = [Category, ProductCategory]


def category_of(product: Product) -> str | None:
    row = (Category.select(Category.name).join(ProductCategory)
           .where(ProductCategory.product == product.id).first())
    return row.name if row else None


def names() -> list[str]:
    return [c.name for c in Category.select(Category.name).order_by(Category.name)]


def set_category(product: Product, name: str | None, actor: str) -> None:
    """Puts the product in the category `name` (made if new); None or blank takes it out of any."""
    name = " ".join((name or "").split()) or None
    if name is not None and len(name) > MAX_NAME:
        raise Invalid(f"A category name has at most {MAX_NAME} characters.",
                      [{"field": "category", "message": f"at most {MAX_NAME} characters"}])
    with write_transaction():
        before = category_of(product)
        if name is not None:
            found = Category.get_or_none(fn.LOWER(Category.name) == name.lower())
            name = found.name if found else name
        if before == name:
            return
        ProductCategory.delete().where(ProductCategory.product == product.id).execute()
        if name is not None:
            category = found or Category.create(name=name)
            ProductCategory.create(product=product.id, category=category.id)
        audit.record(actor, "product.category", "product", product.sku, before={"category": before},
                     after={"category": name})


def with_counts() -> list[dict]:
    """Every category with how many products are in it, by name."""
    count = fn.COUNT(ProductCategory.id)
    rows = (Category.select(Category.id, Category.name, count.alias("products"))
            .join(ProductCategory, JOIN.LEFT_OUTER).group_by(Category.id, Category.name)
            .order_by(Category.name).dicts())
    return [{"id": r["id"], "name": r["name"], "products": int(r["products"])} for r in rows]


def rename(category_id: int, name: str, actor: str) -> Category:
    """Renames a category (its products stay in it); a name another category has is refused."""
    name = " ".join((name or "").split())
    if not name:
        raise Invalid("A category needs a name.", [{"field": "name", "message": "required"}])
    if len(name) > MAX_NAME or "\x00" in name:
        raise Invalid(f"A category name has at most {MAX_NAME} characters (no NUL).",
                      [{"field": "name", "message": f"at most {MAX_NAME} characters"}])
    with write_transaction():
        category = Category.get_or_none(Category.id == category_id)
        if category is None:
            raise NotFound(f"No category {category_id}.", [{"id": category_id}])
        other = Category.get_or_none((fn.LOWER(Category.name) == name.lower()) & (Category.id != category_id))
        if other is not None:
            raise Conflict(f"A category named {other.name} exists already.",
                           [{"field": "name", "message": "taken"}])
        before = category.name
        category.name = name
        category.save()
        audit.record(actor, "category.rename", "category", category_id, before={"name": before}, after={"name": name})
    return category
