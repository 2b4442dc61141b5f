"""A supplier's spreadsheet cannot take the box down: the real `appliance import` command, run in its
own process on files made to exhaust memory, refuses each with one sentence naming the limit, and
its peak memory stays within 100 MB of importing a small, ordinary file.

(The finding: a 1.5 KB XLSX declaring A1:XFD1048576 grew the worker by 90 MB/s to 4.7 GB; a
sharedStrings part packed to 300 KB used 954 MB.)"""
from __future__ import annotations

import time

import pytest

from .hostile_files import (BILLION_LAUGHS, HEADER, declared_huge_xlsx, row, run_import, shared_strings_part,
                            sheet_part, small_products_xlsx, xlsx_package)

MB = 1024 * 1024
ALLOWED_GROWTH = 100 * MB


@pytest.fixture(scope="module")
def baseline_rss(tmp_path_factory) -> int:
    """Peak memory of the same command importing a small, ordinary XLSX."""
    from ..conftest import make_home
    folder = tmp_path_factory.mktemp("baseline")
    file = folder / "products.xlsx"
    file.write_bytes(small_products_xlsx())
    exit_code, stderr, peak = run_import(make_home(folder / "home"), file)
    assert exit_code == 0, stderr
    return peak


def imported(home, tmp_path, name: str, data: bytes, baseline_rss: int) -> tuple[int, str]:
    file = tmp_path / name
    file.write_bytes(data)
    started = time.monotonic()
    exit_code, stderr, peak = run_import(home, file)
    seconds = time.monotonic() - started
    print(f"{name}: {len(data):,} bytes, peak RSS {peak / MB:.0f} MB "
          f"(baseline {baseline_rss / MB:.0f} MB), {seconds:.1f} s")
    assert peak - baseline_rss < ALLOWED_GROWTH, f"{name} grew the import by {(peak - baseline_rss) / MB:.0f} MB"
    return exit_code, stderr


def huge_rows(count: int):
    for number in range(1, count + 1):
        yield row(number, f"SKU{number}", "Tea", 1) if number > 1 else row(1, *HEADER)


def test_a_tiny_sheet_declaring_a_million_rows_by_16384_columns_imports_its_real_rows(home, tmp_path, baseline_rss):
    data = declared_huge_xlsx()
    assert len(data) < 2048

    exit_code, stderr = imported(home, tmp_path, "declared-huge.xlsx", data, baseline_rss)

    assert exit_code == 0, stderr


def test_a_sheet_with_more_rows_than_the_limit_is_refused_naming_it(home, tmp_path, baseline_rss):
    data = xlsx_package(sheet_part(huge_rows(150_000), dimension="A1:C3"))  # a dimension that lies small

    exit_code, stderr = imported(home, tmp_path, "many-rows.xlsx", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == "The file has more than 100,000 rows; split it into smaller files."


def test_a_value_on_the_last_row_of_a_spreadsheet_is_refused_naming_the_row_limit(home, tmp_path, baseline_rss):
    data = xlsx_package(sheet_part([row(1, *HEADER), row(1_048_576, "TEA", "Tea", 1)], dimension="A1:XFD1048576"))

    exit_code, stderr = imported(home, tmp_path, "last-row.xlsx", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == "The file has more than 100,000 rows; split it into smaller files."


def test_a_zip_bomb_of_shared_strings_is_refused_naming_the_unpacked_size_limit(home, tmp_path, baseline_rss):
    # 300 MB of one repeated text: it packs to about 300 KB, like the finding's file.
    bomb = shared_strings_part(b"A" * MB for _ in range(300))
    data = xlsx_package(sheet_part([row(1, *HEADER)]), bomb)
    assert len(data) < 1 * MB

    exit_code, stderr = imported(home, tmp_path, "bomb.xlsx", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == "The XLSX file unpacks to more than 100 MB; split it into smaller files."


@pytest.mark.parametrize("part", ["sheet", "shared strings"])
def test_a_billion_laughs_xml_is_refused(part, home, tmp_path, baseline_rss):
    if part == "sheet":
        data = xlsx_package(sheet_part([row(1, *HEADER), row(2, "&lol9;", "Tea", 1)], prologue=BILLION_LAUGHS))
    else:
        data = xlsx_package(sheet_part([row(1, *HEADER)]), shared_strings_part([b"&lol9;"], prologue=BILLION_LAUGHS))

    exit_code, stderr = imported(home, tmp_path, "laughs.xlsx", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0].endswith("declares an XML document type, which spreadsheets never do "
                                           "and XML bombs need; save it again as .xlsx.")


def test_a_csv_with_more_rows_than_the_limit_is_refused_naming_it(home, tmp_path, baseline_rss):
    data = b"sku,name,price\n" + b"".join(b"S%d,Tea,1\n" % n for n in range(100_001))

    exit_code, stderr = imported(home, tmp_path, "many-rows.csv", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == "The file has more than 100,000 rows; split it into smaller files."


def test_a_csv_line_of_millions_of_separators_is_refused_naming_the_limit(home, tmp_path, baseline_rss):
    data = b"sku,name,price\n" + b"TEA,Tea,1" + b"," * (15 * MB) + b"x\n"

    exit_code, stderr = imported(home, tmp_path, "wide.csv", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == ("A line has more than 16,384 separators, more columns than a spreadsheet "
                                      "program allows; keep only the columns the import reads.")


def test_a_csv_of_millions_of_blank_lines_is_refused_naming_the_row_limit(home, tmp_path, baseline_rss):
    data = b"sku,name,price\n" + b"\n" * (19 * MB) + b"TEA,Tea,1\n"

    exit_code, stderr = imported(home, tmp_path, "blank-lines.csv", data, baseline_rss)

    assert exit_code == 1
    assert stderr.splitlines()[0] == "The file has more than 100,000 rows; split it into smaller files."
