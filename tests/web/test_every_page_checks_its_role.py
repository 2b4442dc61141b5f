"""Every page, for every role: allowed → 200, not allowed → a 403 page, anonymous → sign in first.

One table (PAGES) drives it, and a last test proves the table lists every page the app has, so a
new page cannot skip its role check unnoticed.
"""
from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from appliance import accounts, config, customers, inventory, orders, runtime, stocktake
from appliance.models import ROLES, OperationRun
from appliance.schema import migrate
from runbooks.journal import Journal
from tests.conftest import make_home
from web import create_app

from .web_helpers import USERNAMES, post_form, sign_in

# (Flask rule, the least role that may open it)
PAGES = [
    ("/", "staff"),
    ("/orders", "staff"),
    ("/orders/new", "staff"),
    ("/orders/new/product", "staff"),
    ("/orders/new/search", "staff"),
    ("/orders/new/catalog", "staff"),
    ("/orders/new/favourites", "staff"),
    ("/orders/new/often-bought-with", "staff"),
    ("/orders/<number>", "staff"),
    ("/orders/<number>/receipt", "staff"),
    ("/stock", "staff"),
    ("/stocktake", "staff"),
    ("/stocktake/<int:session_id>", "staff"),
    ("/customers", "staff"),
    ("/customers/<int:customer_id>", "staff"),
    ("/customers/<int:customer_id>/edit", "staff"),
    ("/shift-close", "staff"),
    ("/account/password", "staff"),
    ("/import", "manager"),
    ("/products", "manager"),
    ("/products/new", "manager"),
    ("/products/categories", "manager"),
    ("/products/<sku>", "manager"),
    ("/products/<sku>/stock-history", "manager"),
    ("/reports", "manager"),
    ("/reports/sales", "manager"),
    ("/reports/inventory-value", "manager"),
    ("/reports/uptime", "manager"),
    ("/reports/uptime/download", "manager"),
    ("/admin/users", "admin"),
    ("/admin/tokens", "admin"),
    ("/ops", "admin"),
    ("/ops/runs/<int:run_id>", "admin"),
    ("/ops/runbooks", "manager"),
    ("/ops/failover", "manager"),
    ("/reports/drills", "manager"),
    ("/reports/drills/download", "manager"),
    ("/purchasing", "staff"),
    ("/purchasing/<int:po_id>", "staff"),
    ("/purchasing/<int:po_id>/pdf", "manager"),
    ("/suppliers", "manager"),
    ("/suppliers/<int:supplier_id>", "manager"),
    ("/integrations/webhooks", "admin"),
    ("/integrations/webhooks/<int:endpoint_id>", "admin"),
    ("/ops/runbooks/<runbook_id>", "manager"),
    ("/ops/runbooks/runs/<run_id>", "manager"),
]
# Form posts whose role is above staff (sent with a valid CSRF token: the role alone must refuse them).
FORMS = [
    ("/stock/adjust", "manager"),
    ("/stocktake/<int:session_id>/post", "manager"),
    ("/stocktake/<int:session_id>/cancel", "manager"),
    ("/orders/<pending>/approve", "manager"),
    ("/orders/<pending>/cancel", "manager"),
    ("/orders/<number>/return", "manager"),
    ("/orders/new/favourites/pin", "manager"),
    ("/import", "manager"),
    ("/products/new", "manager"),
    ("/products/<sku>", "manager"),
    ("/products/categories/<int:category_id>", "manager"),
    ("/admin/users", "admin"),
    ("/admin/users/<username>/role", "admin"),
    ("/admin/tokens", "admin"),
    ("/ops/health/acknowledge", "admin"),
    ("/ops/health/silence", "admin"),
    ("/ops/health/maintenance", "admin"),
    ("/ops/operations/<operation>", "admin"),
    ("/ops/runbooks/<runbook_id>/start", "admin"),
    ("/ops/runbooks/<runbook_id>/drill", "admin"),
    ("/ops/runbooks/runs/<run_id>/resume", "admin"),
    ("/purchasing/from-suggestions", "manager"),
    ("/purchasing/<int:po_id>", "manager"),
    ("/purchasing/<int:po_id>/send", "manager"),
    ("/purchasing/<int:po_id>/mark-sent", "manager"),
    ("/purchasing/<int:po_id>/cancel", "manager"),
    ("/suppliers", "manager"),
    ("/suppliers/<int:supplier_id>", "manager"),
    ("/suppliers/<int:supplier_id>/products", "manager"),
    ("/suppliers/<int:supplier_id>/products/<sku>/remove", "manager"),
    ("/integrations/webhooks", "admin"),
    ("/integrations/webhooks/<int:endpoint_id>/test", "admin"),
    ("/integrations/webhooks/<int:endpoint_id>/delete", "admin"),
]
PUBLIC = {"/login", "/logout"}


@pytest.fixture(scope="module")
def shop(tmp_path_factory, password_hash):
    """One shop for the whole table (these requests change nothing), so 75 checks cost one set-up."""
    from cli.wiring import extra_models
    home = make_home(tmp_path_factory.mktemp("roles") / "home")
    settings = config.load(home, environ={"APPLIANCE_DATABASE_URL": "sqlite:///appliance.db"})
    runtime.connect(settings)
    migrate(extra_models())
    users = {role: accounts.create_user(name, "", role, "test", password_hash=password_hash)
             for role, name in USERNAMES.items()}
    yield create_app(settings, connect=False), users, _sample(settings)
    runtime.close()


def _category_id() -> int:
    from appliance import categories
    categories.set_category(inventory.product_by_sku("TEA"), "Tea", "test")
    return categories.Category.get(categories.Category.name == "Tea").id


def _webhook_endpoint_id() -> int:
    from monitors import webhooks
    return webhooks.create_endpoint("http://127.0.0.1:9/nobody", ["order.created"], "test")[0].id


def _supplier_and_purchase_order():
    from appliance import purchasing, suppliers
    supplier = suppliers.create_supplier({"name": "Leaf & Co"}, "test")
    suppliers.set_product(supplier.id, "TEA", 100, 1, "test")
    (po,) = purchasing.create_from_suggestions([{"supplier_id": supplier.id, "product_id": inventory.product_by_sku("TEA").id,
                                                 "suggested_qty": 5, "unit_cost_cents": 100}], "test")
    return supplier, po


def _sample(settings) -> dict:
    """One of each thing a page shows, so pages with an id in the path have something to show."""
    for sku, price in (("TEA", 350), ("SAFE", 200_000)):
        inventory.create_product({"sku": sku, "name": sku, "price_cents": price}, "test")
        inventory.receive(sku, 20, "test")
    customer = customers.create_customer({"name": "Ana Lima", "phone": "555 0101"}, "test")
    order, _ = orders.create_order(settings, channel="store", lines=[orders.LineRequest("TEA", 1)], actor="test",
                                   customer=customer.id)
    pending, _ = orders.create_order(settings, channel="phone", lines=[orders.LineRequest("SAFE", 1)], actor="test")
    assert pending.status == "pending"
    session = stocktake.open_session("floor", "test")
    run = OperationRun.create(operation="backup.run", actor="test", actor_role="admin", source="cli", outcome="ok")
    Journal(settings.home, "rb-20261202T000000Z-role").append(
        {"type": "run", "event": "started", "runbook": "disk-full", "actor": "test", "role": "admin",
         "rto_budget_seconds": 900})
    supplier, po = _supplier_and_purchase_order()
    return {"runbook_id": "disk-full", "run_id": "rb-20261202T000000Z-role",
            "number": order.number, "pending": pending.number, "int:session_id": session.id,
            "int:customer_id": customer.id, "sku": "TEA", "int:category_id": _category_id(), "username": "sam", "int:run_id": run.id, "operation": "backup.run",
            "int:supplier_id": supplier.id, "int:po_id": po.id, "int:endpoint_id": _webhook_endpoint_id()}


@pytest.fixture
def sample(shop) -> dict:
    return shop[2]


@pytest.fixture
def client_for(shop):
    app, users, _ = shop

    def make(role: str | None):
        client = app.test_client()
        return sign_in(client, users[role]) if role else client
    return make


@pytest.fixture
def app(shop):
    return shop[0]


def fill(rule: str, sample: dict) -> str:
    path = rule
    for name, value in sample.items():
        path = path.replace(f"<{name}>", str(value))
    return path


@pytest.mark.parametrize("rule,role", PAGES, ids=[p for p, _ in PAGES])
def test_anonymous_visitor_is_sent_to_sign_in_and_back(client_for, sample, rule, role):
    path = fill(rule, sample)
    response = client_for(None).get(path)
    assert response.status_code == 302
    location = urlsplit(response.headers["Location"])
    assert location.path == "/login"
    assert parse_qs(location.query)["next"] == [path]


@pytest.mark.parametrize("viewer", ROLES)
@pytest.mark.parametrize("rule,role", PAGES, ids=[p for p, _ in PAGES])
def test_each_role_gets_the_page_or_a_403_page(client_for, sample, rule, role, viewer):
    path = fill(rule, sample) + ("?code=TEA" if rule == "/orders/new/product" else "")
    response = client_for(viewer).get(path, follow_redirects=True)
    if accounts.role_allows(viewer, role):
        assert response.status_code == 200, response.get_data(as_text=True)[:500]
    else:
        assert response.status_code == 403
        body = response.get_data(as_text=True)
        assert "Not allowed" in body and f"needs the {role} role" in body


@pytest.mark.parametrize("rule,role", FORMS, ids=[p for p, _ in FORMS])
def test_a_form_above_staff_is_refused_to_staff_even_with_a_valid_token(client_for, sample, rule, role):
    response = post_form(client_for("staff"), fill(rule, sample), {"role": "admin", "name": "x", "delta": "5"})
    assert response.status_code == 403
    assert "Not allowed" in response.get_data(as_text=True)
    assert orders.get_order(sample["pending"]).status == "pending"


def test_the_navigation_shows_only_what_the_role_may_open(client_for, sample):
    staff_page = client_for("staff").get("/orders").get_data(as_text=True)
    admin_page = client_for("admin").get("/orders").get_data(as_text=True)
    for link in ('href="/admin/users"', 'href="/ops"', 'href="/reports"'):
        assert link not in staff_page
        assert link in admin_page


def test_the_table_lists_every_page_and_every_view_declares_its_role(app):
    listed = {rule for rule, _ in PAGES} | PUBLIC
    for rule in app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("api", "health", "static"):
            continue
        view = app.view_functions[rule.endpoint]
        assert hasattr(view, "required_role"), f"{rule.rule} does not declare its role"
        if view.required_role is None:
            assert rule.rule in PUBLIC, f"{rule.rule} is public but not meant to be"
        if "GET" in rule.methods:
            assert rule.rule in listed, f"{rule.rule} is missing from PAGES"
