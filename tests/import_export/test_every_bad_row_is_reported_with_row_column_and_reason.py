"""The whole file is checked before anything is written, and every problem is reported at once with
the row number a spreadsheet shows (header = row 1), the column and the reason."""
from __future__ import annotations

from appliance import import_export

from .shop import stock_a_shop


def problems(report) -> list[tuple[int | None, str | None, str]]:
    return [(e.row, e.column, e.message) for e in report.errors]


def test_every_bad_product_row_is_reported(settings, db):
    stock_a_shop(settings)
    data = ("sku,name,price,cost,reorder_point,active,barcode\n"
            "A1,Cake,2.50,1.00,3,yes,\n"            # fine
            ",Nameless SKU,1.00,,,,\n"              # 3
            "B1,,abc,,,,\n"                         # 4
            "C1,Cup,1.00,0.5.0,-2,maybe,\n"         # 5
            "A1,Cake again,2.50,,,,\n"              # 6
            "D1,Dish,1.00,,,,0012345\n"             # 7: TEA's barcode
            ).encode()

    report = import_export.validate("products", data, "products.csv", settings=settings)

    assert problems(report) == [
        (3, "sku", "is required"),
        (4, "name", "is required"),
        (4, "price", "'abc' is not an amount; write it like 3.50"),
        (5, "cost", "'0.5.0' is not an amount; write it like 3.50"),
        (5, "reorder_point", "must be a whole number, zero or more"),
        (5, "active", "must be yes or no"),
        (6, "sku", "SKU A1 is also on row 2"),
        (7, "barcode", "barcode 0012345 also belongs to TEA (the products already here)"),
    ]
    assert report.counts == {}


def test_every_bad_stock_count_is_reported(settings, db):
    stock_a_shop(settings)
    data = ("sku,location,on_hand\n"
            "TEA,floor,12\n"
            "NOPE,floor,1\n"
            "MUG,attic,1\n"
            "MUG,floor,-3\n"
            "TEA,floor,8\n"
            "MUG,floor,2.5\n").encode()

    report = import_export.validate("stock", data, "stock.csv", settings=settings)

    assert problems(report) == [
        (3, "sku", "unknown SKU NOPE"),
        (4, "location", "unknown location attic"),
        (5, "on_hand", "must be a whole number, zero or more"),
        (6, "sku", "TEA at floor is also counted on row 2"),
        (7, "on_hand", "must be a whole number, zero or more"),
    ]


def test_every_bad_order_row_is_reported(settings, db):
    stock_a_shop(settings)
    data = ("number,created_at,channel,status,customer_name,customer_email,sku,qty,unit_price\n"
            "W-1,2026-03-01 10:00,web,confirmed,Cy,cy@example.com,MUG,1,12.99\n"
            "W-1,2026-03-01 10:00,phone,confirmed,Cy,cy@example.com,TEA,1,3.50\n"   # 3: channel differs
            "W-2,yesterday,web,confirmed,,,MUG,1,12.99\n"                          # 4
            "W-3,,fax,lost,,,GHOST,-1,1.999\n"                                    # 5
            "W-4,,web,pending,,not-an-email,TEA,1,3.50\n"                         # 6
            ",,web,pending,,,TEA,1,3.50\n"                                        # 7
            "SO-000001,,store,confirmed,,,TEA,99,3.50\n"                          # 8: exists, differs
            ).encode()

    report = import_export.validate("orders", data, "orders.csv", settings=settings)

    assert problems(report) == [
        (3, "channel", "differs from row 2 of the same order W-1"),
        (4, "created_at", "'yesterday' is not a date; write it like 2026-03-01 14:30"),
        (5, "channel", "must be one of store, phone, web, api"),
        (5, "status", "must be one of pending, confirmed, shipped, delivered, cancelled, returned"),
        (5, "sku", "unknown SKU GHOST"),
        (5, "qty", "must be a whole number above zero"),
        (5, "unit_price", "'1.999' has more than 2 decimals"),
        (6, "customer_email", "'not-an-email' is not an e-mail address"),
        (7, "number", "is required"),
        (8, "customer_name", "order SO-000001 already exists with a different customer_name; "
                             "an import does not change existing orders"),
    ]


def test_errors_convert_to_the_api_error_shape(settings, db):
    report = import_export.validate("stock", b"sku,on_hand\nNOPE,1\n", "stock.csv", settings=settings)

    try:
        report.raise_if_errors()
    except import_export.Invalid as error:
        assert error.status == 422
        assert error.details == [{"row": 2, "column": "sku", "message": "unknown SKU NOPE"}]
    else:
        raise AssertionError("expected Invalid")
