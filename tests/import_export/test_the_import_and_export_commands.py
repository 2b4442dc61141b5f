"""`appliance import KIND FILE [--dry-run]` and `appliance export KIND [--format] [--output]`."""
from __future__ import annotations

from click.testing import CliRunner
from openpyxl import load_workbook

from cli import main


def run(home, *args):
    return CliRunner().invoke(main, ["--home", str(home), *args])


def test_a_bad_file_prints_each_bad_row_and_exits_1_having_written_nothing(home, tmp_path):
    products = tmp_path / "products.csv"
    products.write_text("sku,name,price\nA1,Tea,3.50\nA2,Cake,x\n")
    orders = tmp_path / "orders.csv"
    orders.write_text("number,channel,status,sku,qty,unit_price\nW-1,web,pending,A1,0,3.50\n")

    bad_products = run(home, "import", "products", str(products))
    bad_orders = run(home, "import", "orders", str(orders))
    exported = run(home, "export", "products")

    assert bad_products.exit_code == 1
    assert "row 3, column price: 'x' is not an amount; write it like 3.50" in bad_products.stderr
    assert "nothing was imported" in bad_products.stderr
    assert bad_orders.exit_code == 1
    assert "row 2, column sku: unknown SKU A1\nrow 2, column qty: must be a whole number above zero" in bad_orders.stderr
    assert exported.stdout.splitlines() == ["sku,barcode,name,price,cost,reorder_point,reorder_qty,active"]


def test_a_dry_run_then_an_import_then_an_export(home, tmp_path):
    products = tmp_path / "products.csv"
    products.write_text("sku,name,price\nA1,Tea,3.5\n")

    dry = run(home, "import", "products", str(products), "--dry-run")
    real = run(home, "import", "products", str(products))
    csv_out = run(home, "export", "products", "--format", "csv")
    xlsx_out = run(home, "export", "products", "--output", str(tmp_path / "out.xlsx"))

    assert dry.exit_code == 0 and "1 created" in dry.stdout and "dry run" in dry.stdout
    assert real.exit_code == 0 and "1 created" in real.stdout and "dry run" not in real.stdout
    assert csv_out.stdout.splitlines()[1] == "A1,,Tea,3.50,0.00,0,0,yes"
    assert xlsx_out.exit_code == 0
    sheet = load_workbook(tmp_path / "out.xlsx").worksheets[0]
    assert [c.value for c in sheet[2]][:4] == ["A1", None, "Tea", 3.5]


def test_an_unsupported_file_exits_1_with_one_line(home, tmp_path):
    notes = tmp_path / "products.txt"
    notes.write_text("hello")

    result = run(home, "import", "products", str(notes))

    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == "A .txt file cannot be imported; use a .csv or .xlsx file."
