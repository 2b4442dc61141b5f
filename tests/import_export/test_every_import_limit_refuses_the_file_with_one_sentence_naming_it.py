"""Each limit of limits.py, passed by a file made for it, refuses the whole file with one sentence
naming that limit, and writes nothing. Limits are lowered here where a file over the real one would
only make the test slow (the real sizes run in test_hostile_spreadsheets_are_refused_with_bounded_memory)."""
from __future__ import annotations

import io
import zipfile

import defusedxml
import openpyxl
import pytest

from appliance import import_export
from appliance.import_export import limits

from .files import xlsx
from .hostile_files import (BILLION_LAUGHS, HEADER, row, shared_strings_part, sheet_part, small_products_xlsx,
                            with_lying_sizes, xlsx_package)
from .shop import ACTOR, every_row


def refusal(data: bytes, filename: str, settings) -> list[str]:
    before = every_row()
    report = import_export.apply("products", data, filename, actor=ACTOR, settings=settings)
    assert not report.ok and not report.written
    assert every_row() == before
    return [str(e) for e in report.errors]


def test_a_value_beyond_column_200_is_refused_in_csv_and_xlsx(settings, db):
    wide = ["TEA", "Tea", "1"] + [""] * 197 + ["stray"]  # the value is in column 201

    assert refusal(("sku,name,price\n" + ",".join(wide) + "\n").encode(), "p.csv", settings) == [
        "The file has values beyond column 200; keep only the columns the import reads."]
    assert refusal(xlsx([HEADER, wide]), "p.xlsx", settings) == [
        "The file has values beyond column 200; keep only the columns the import reads."]


def test_trailing_empty_cells_make_no_columns(settings, db):
    data = b"sku,name,price" + b"," * 5000 + b"\nTEA,Tea,1" + b"," * 5000 + b"\n"

    report = import_export.validate("products", data, "p.csv", settings=settings)

    assert report.ok, report.errors


def test_more_cells_than_the_limit_are_refused(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_CELLS", 10)
    rows = [HEADER] + [[f"S{n}", "Tea", 1] for n in range(4)]  # 15 cells

    assert refusal(b"".join(b"%s,%s,%s\n" % tuple(str(c).encode() for c in r) for r in rows), "p.csv", settings) == [
        "The file has more than 10 cells; split it into smaller files."]
    assert refusal(xlsx(rows), "p.xlsx", settings) == ["The file has more than 10 cells; split it into smaller files."]


def test_reading_past_the_time_limit_is_refused(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_READ_SECONDS", -1)  # already past when reading starts

    for data, filename in ((b"sku,name,price\nTEA,Tea,1\n", "p.csv"), (small_products_xlsx(), "p.xlsx")):
        assert refusal(data, filename, settings) == [
            "Reading the file took longer than -1 seconds; split it into smaller files."]


def test_a_part_packed_more_than_100_to_1_is_refused(settings, db):
    # 50 MB of one byte: within the unpacked-size limit, but packed about 1,000 to 1.
    data = xlsx_package(sheet_part([row(1, *HEADER)]), extra_parts={"xl/media/padding.bin": b"\0" * (50 * limits.MB)})

    assert refusal(data, "p.xlsx", settings) == [
        "The XLSX file's part xl/media/padding.bin is packed more than 100 to 1, as zip bombs are and "
        "spreadsheets never are; save it again as .xlsx."]


def test_a_part_whose_header_lies_about_its_size_cannot_unpack_more(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_UNPACKED_BYTES", 2 * limits.MB)
    monkeypatch.setattr(limits, "MAX_COMPRESSION_RATIO", 10_000)
    padding = b"<x>" + b"y" * (3 * limits.MB) + b"</x>"
    honest = xlsx_package(sheet_part([row(1, *HEADER)]), extra_parts={"xl/padding.xml": padding})

    lying = with_lying_sizes(honest, "xl/padding.xml", 1000)

    [reason] = refusal(lying, "p.xlsx", settings)
    assert reason.startswith("The XLSX file cannot be read (xl/padding.xml: ") or reason == (
        "The XLSX file unpacks to more than 2 MB; split it into smaller files.")


def test_a_zip_of_too_many_parts_is_refused(settings, db):
    data = xlsx_package(sheet_part([row(1, *HEADER)]), extra_parts={f"xl/media/{n}.bin": b"" for n in range(1001)})

    assert refusal(data, "p.xlsx", settings) == ["The XLSX file has more than 1,000 parts; save it again as .xlsx."]


def test_an_external_entity_is_refused(settings, db):
    xxe = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'
    data = xlsx_package(sheet_part([row(1, *HEADER), row(2, "&secret;", "Tea", 1)], prologue=xxe))

    assert refusal(data, "p.xlsx", settings) == [
        "The XLSX file's part xl/worksheets/sheet1.xml declares an XML document type, which spreadsheets "
        "never do and XML bombs need; save it again as .xlsx."]


def test_openpyxl_itself_parses_with_defusedxml():
    # The second wall behind the scan: openpyxl refuses entity declarations on its own.
    assert openpyxl.DEFUSEDXML
    data = xlsx_package(sheet_part([row(1, *HEADER)]), shared_strings_part([b"&lol9;"], prologue=BILLION_LAUGHS))
    with pytest.raises(ValueError) as refused:
        openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    assert isinstance(refused.value.__cause__, defusedxml.EntitiesForbidden)


def test_a_cell_longer_than_a_spreadsheet_allows_is_refused(settings, db):
    long_text = b"x" * 40_000
    in_sheet = xlsx_package(sheet_part([row(1, *HEADER), row(2, long_text.decode(), "Tea", 1)]))
    in_shared_strings = xlsx_package(sheet_part([row(1, *HEADER)]), shared_strings_part([long_text]))

    for data in (in_sheet, in_shared_strings):
        assert refusal(data, "p.xlsx", settings) == [
            "A cell holds more than 32,767 characters, a spreadsheet program's own limit; save it again as .xlsx."]


def test_too_many_shared_strings_are_refused(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_SHARED_STRINGS", 100)
    data = xlsx_package(sheet_part([row(1, *HEADER)]), shared_strings_part(b"t%d" % n for n in range(101)))

    assert refusal(data, "p.xlsx", settings) == [
        "The XLSX file has more than 100 different texts; split it into smaller files."]


def test_a_row_of_more_cells_than_a_spreadsheet_has_columns_is_refused(settings, db):
    cells = b"<c><v>1</v></c>" * 16_385  # no references: each is the next column
    data = xlsx_package(sheet_part([row(1, *HEADER), b'<row r="2">' + cells + b"</row>"]))

    assert refusal(data, "p.xlsx", settings) == [
        "A row has more than 16,384 cells, a spreadsheet program's own limit; save it again as .xlsx."]


def test_a_part_of_too_many_elements_is_refused(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_PART_ELEMENTS", 1000)
    styles = b'<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts>' + \
        b"<font/>" * 1000 + b"</fonts></styleSheet>"
    data = xlsx_package(sheet_part([row(1, *HEADER)]), extra_parts={"xl/styles.xml": styles})

    assert refusal(data, "p.xlsx", settings) == [
        "The XLSX file's part xl/styles.xml has more than 1,000 XML elements; save it again as .xlsx."]


def test_a_sheet_past_the_limits_is_refused_only_when_it_is_the_sheet_read(settings, db, monkeypatch):
    monkeypatch.setattr(limits, "MAX_ROWS", 3)
    book = openpyxl.Workbook()
    book.active.append(HEADER)
    book.active.append(["TEA", "Tea", 1])
    second = book.create_sheet("notes")
    for n in range(10):
        second.append([f"note {n}"])
    out = io.BytesIO()
    book.save(out)

    report = import_export.validate("products", out.getvalue(), "p.xlsx", settings=settings)

    assert report.ok and report.rows == 1
    assert zipfile.ZipFile(out).namelist()  # a real two-sheet workbook, as a spreadsheet program saves


def test_a_file_path_larger_than_the_limit_is_refused_without_reading_it_all(settings, db, tmp_path, monkeypatch):
    monkeypatch.setattr(limits, "MAX_BYTES", 1000)
    path = tmp_path / "products.csv"
    path.write_bytes(b"sku,name,price\n" + b"TEA,Tea,1\n" * 200)

    report = import_export.validate("products", path, settings=settings)

    assert [str(e) for e in report.errors] == ["The file is larger than 1,000 bytes; split it into smaller files."]
