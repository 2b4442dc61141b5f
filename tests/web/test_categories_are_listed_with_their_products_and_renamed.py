"""Managers see every category with how many products it holds and rename one (audited); a name
another category has, or none, is said on the field and nothing changes."""
from __future__ import annotations

import json

from appliance import categories
from appliance.models import AuditEvent

from .web_helpers import post_form


def test_a_category_is_listed_with_its_products_and_renamed(manager, make_product):
    for sku, category in (("TEA", "Tea"), ("TEA-2", "tea "), ("MUG", "Kitchen"), ("CUP", None)):
        categories.set_category(make_product(sku, stock=0), category, "test")
    page = manager.get("/products/categories").get_data(as_text=True)
    rows = page.split('id="categories"')[1].split("<tr><td>")[1:]
    assert [row.split("</td>")[1].rsplit(">", 1)[-1] for row in rows] == ["1", "2"]  # Kitchen, Tea
    tea = categories.Category.get(categories.Category.name == "Tea").id
    kitchen = categories.Category.get(categories.Category.name == "Kitchen").id
    assert post_form(manager, f"/products/categories/{tea}", {"name": "Teas and infusions"}).status_code == 302
    assert categories.category_of(categories.Product.get(categories.Product.sku == "TEA-2")) == "Teas and infusions"
    event = AuditEvent.get(AuditEvent.action == "category.rename")
    assert (event.actor, json.loads(event.before), json.loads(event.after)) == (
        "maria", {"name": "Tea"}, {"name": "Teas and infusions"})

    for name, words, status in (("KITCHEN", "A category named Kitchen exists already.", 409),
                                (" ", "A category needs a name.", 422)):
        response = post_form(manager, f"/products/categories/{tea}", {"name": name})
        body = response.get_data(as_text=True)
        assert response.status_code == status
        assert f'id="name-{tea}-error"' in body and words in body and f'id="name-{kitchen}-error"' not in body
    assert categories.names() == ["Kitchen", "Teas and infusions"]
    assert post_form(manager, "/products/categories/999999", {"name": "x"}).status_code == 404
