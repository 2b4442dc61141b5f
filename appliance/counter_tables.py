"""The counter's own table (schema v13), apart from appliance.counter_picks so the migration that
creates it imports no domain module (appliance.schema must not reach the audit trail)."""
from __future__ import annotations

from peewee import CharField, DateTimeField, ForeignKeyField

from .models import BaseModel, Product, utcnow


class PinnedFavourite(BaseModel):
    """A product a manager pinned to the counter's favourites grid."""
    product = ForeignKeyField(Product, unique=True, on_delete="CASCADE")
    pinned_by = CharField(max_length=100)
    pinned_at = DateTimeField(default=utcnow)

    class Meta:
        table_name = "counter_favourite"


MODELS = [PinnedFavourite]
