"""Building spreadsheet files for tests, the way shop owners' programs save them."""
from __future__ import annotations

import io
import zipfile

from openpyxl import Workbook


def xlsx(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def with_saved_formula_result(data: bytes, formula: str, result: str) -> bytes:
    """What a spreadsheet program saves: the formula plus its last result (openpyxl writes no result)."""
    source = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as target:
        for item in source.infolist():
            content = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                content = content.replace(f"<f>{formula}</f><v />".encode(), f"<f>{formula}</f><v>{result}</v>".encode())
            target.writestr(item, content)
    return out.getvalue()
