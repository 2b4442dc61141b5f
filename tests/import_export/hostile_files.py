"""Hand-made XLSX files for the hostile-file tests: the zip and its XML written directly (zipfile),
so a test can declare any dimension, write a part of hundreds of MB without holding it in memory, or
put in what no spreadsheet program writes (a document type, a lying size)."""
from __future__ import annotations

import io
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import Iterable

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
CONTENT_TYPES = b"""<?xml version="1.0" encoding="UTF-8"?>
<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">
<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>
<Default Extension="xml" ContentType="application/xml"/>
<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>
<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>
<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>
</Types>"""
PACKAGE_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>
</Relationships>"""
WORKBOOK = f"""<?xml version="1.0" encoding="UTF-8"?>
<workbook xmlns="{MAIN}" xmlns:r="{RELATIONSHIPS}"><sheets><sheet name="data" sheetId="1" r:id="rId1"/></sheets></workbook>""".encode()
WORKBOOK_RELS = b"""<?xml version="1.0" encoding="UTF-8"?>
<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">
<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/>
<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings" Target="sharedStrings.xml"/>
</Relationships>"""
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol">""" + b"".join(
    b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1) if i > 1 else b"&lol;") * 10) for i in range(1, 10)) + b"]>"

HEADER = ["sku", "name", "price"]


def xlsx_package(sheet: bytes | Iterable[bytes], shared_strings: bytes | Iterable[bytes] = b"",
                 extra_parts: dict[str, bytes] | None = None) -> bytes:
    """A minimal XLSX that openpyxl opens: the given sheet XML (bytes or chunks, streamed into the
    zip) and shared strings part."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        archive.writestr("xl/workbook.xml", WORKBOOK)
        archive.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        _write_streamed(archive, "xl/worksheets/sheet1.xml", sheet)
        _write_streamed(archive, "xl/sharedStrings.xml", shared_strings or shared_strings_part([]))
        for name, content in (extra_parts or {}).items():
            archive.writestr(name, content)
    return out.getvalue()


def _write_streamed(archive: zipfile.ZipFile, name: str, content: bytes | Iterable[bytes]) -> None:
    with archive.open(name, "w", force_zip64=True) as part:
        for chunk in [content] if isinstance(content, bytes) else content:
            part.write(chunk)


def sheet_part(rows: Iterable[bytes], dimension: str = "A1:C3", prologue: bytes = b"") -> Iterable[bytes]:
    yield prologue or b'<?xml version="1.0" encoding="UTF-8"?>'
    yield f'<worksheet xmlns="{MAIN}"><dimension ref="{dimension}"/><sheetData>'.encode()
    yield from rows
    yield b"</sheetData></worksheet>"


def row(number: int, *values) -> bytes:
    """A row of inline-string and number cells, with explicit references like Excel writes."""
    cells = []
    for index, value in enumerate(values):
        reference = f"{chr(65 + index)}{number}"
        if isinstance(value, (int, float)):
            cells.append(f'<c r="{reference}"><v>{value}</v></c>')
        else:
            cells.append(f'<c r="{reference}" t="inlineStr"><is><t>{value}</t></is></c>')
    return f'<row r="{number}">{"".join(cells)}</row>'.encode()


def shared_strings_part(texts: Iterable[bytes], prologue: bytes = b"") -> Iterable[bytes]:
    yield prologue or b'<?xml version="1.0" encoding="UTF-8"?>'
    yield f'<sst xmlns="{MAIN}">'.encode()
    for text in texts:
        yield b"<si><t>" + text + b"</t></si>"
    yield b"</sst>"


def declared_huge_xlsx() -> bytes:
    """The finding's shape, 2 KB: a sheet declaring A1:XFD1048576 with two real rows and empty
    cells on its very last row and column (openpyxl pads every row in between to 16,384 columns;
    before the fix this grew the import past 1.4 GB in 30 s)."""
    last_row = (b'<row r="1048576"><c r="A1048576" t="inlineStr"><is><t></t></is></c>'
                b'<c r="XFD1048576" s="0"/></row>')
    return xlsx_package(sheet_part([row(1, *HEADER), row(2, "TEA", "Green tea", 3.5), row(3, "MUG", "Mug", 12),
                                    last_row], dimension="A1:XFD1048576"))


def small_products_xlsx() -> bytes:
    return xlsx_package(sheet_part([row(1, *HEADER), row(2, "TEA", "Green tea", 3.5), row(3, "MUG", "Mug", 12)]))


def with_lying_sizes(data: bytes, name: str, declared_size: int) -> bytes:
    """The same zip, but `name`'s local and central headers claim it unpacks to `declared_size`
    (the part must not be zip64)."""
    patched = bytearray(data)
    size = declared_size.to_bytes(4, "little")
    local = zipfile.ZipFile(io.BytesIO(data)).getinfo(name).header_offset
    patched[local + 22:local + 26] = size  # local header: uncompressed size at offset 22
    central = patched.find(b"PK\x01\x02")
    while central != -1:
        name_length = int.from_bytes(patched[central + 28:central + 30], "little")
        if patched[central + 46:central + 46 + name_length] == name.encode():
            patched[central + 24:central + 28] = size  # central header: at offset 24
        central = patched.find(b"PK\x01\x02", central + 4)
    return bytes(patched)


# -- running the real command and measuring it ------------------------------------------------

def run_import(home: Path, file: Path) -> tuple[int, str, int]:
    """`appliance import products FILE --dry-run` in its own process: (exit code, stderr, peak RSS
    in bytes, as the kernel measured that process)."""
    with tempfile.TemporaryFile() as stdout, tempfile.TemporaryFile() as stderr:
        process = subprocess.Popen([sys.executable, "-m", "cli", "--home", str(home), "import", "products",
                                    str(file), "--dry-run"], stdout=stdout, stderr=stderr,
                                   cwd=Path(__file__).resolve().parents[2])
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        stderr.seek(0)
        return process.returncode, stderr.read().decode(), usage.ru_maxrss * 1024  # Linux: KiB
