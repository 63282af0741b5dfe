"""Write the .xlsb fixtures of this folder: a minimal Excel binary workbook writer (run once by hand).

LibreOffice reads .xlsb but cannot write it and Excel does not run here, so this script writes the
binary workbooks itself, following [MS-XLSB] (Excel Binary File Format, Open Specifications). The
tests read the committed files; they do not run this script::

    python tests/data/files/make_xlsb.py

- ``formats.xlsb``: the cells of ``formats.xlsx`` (title row, blank row, header in row 3, "." for one
  missing score), sheet "Visits", like ``formats.xls`` and ``formats.ods``.
- ``orthodont.xlsb``: ``tests/reference/cli/orthodont_long.csv`` on a sheet "Orthodont" after a
  "Read me" sheet, as ``tests/data/test_importing.py`` writes the .xlsx form of the same data.

The package is an Open Packaging zip like .xlsx, with binary parts in place of the XML ones::

    [Content_Types].xml, _rels/.rels, xl/workbook.bin, xl/_rels/workbook.bin.rels,
    xl/worksheets/sheetN.bin, xl/sharedStrings.bin

Every binary part is a sequence of records: the record type and then the payload size, each as a
little-endian base-128 number (7 bits a byte, the high bit set when another byte follows; at most 2
bytes for the type and 4 for the size), then the payload. The records written are those Excel itself
writes for plain values: whole numbers of 30 bits as BrtCellRk (as Excel does), other numbers as
BrtCellReal (an exact IEEE double), text as BrtCellIsst (an index into the shared-string table), and
empty cells not at all. No styles part: every cell uses the default format (as calamine, pyxlsb and
LibreOffice all accept); there are no dates in these fixtures.
"""
from __future__ import annotations

import struct
import zipfile
from pathlib import Path

HERE = Path(__file__).parent
ORTHODONT = HERE.parent.parent / "reference" / "cli" / "orthodont_long.csv"

# record types, [MS-XLSB] 2.3 (names as in the specification)
BrtRowHdr, BrtCellRk, BrtCellReal, BrtCellIsst = 0x0000, 0x0002, 0x0005, 0x0007
BrtSSTItem = 0x0013
BrtBeginSheet, BrtEndSheet, BrtBeginBook, BrtEndBook = 0x0081, 0x0082, 0x0083, 0x0084
BrtBeginBundleShs, BrtEndBundleShs, BrtBeginSheetData, BrtEndSheetData = 0x008F, 0x0090, 0x0091, 0x0092
BrtWsDim, BrtBundleSh, BrtBeginSst, BrtEndSst = 0x0094, 0x009C, 0x009F, 0x00A0

REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"


def _varint(n: int, max_bytes: int) -> bytes:
    out = bytearray()
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            break
    assert len(out) <= max_bytes, "record type or size too large for BIFF12"
    return bytes(out)


def record(kind: int, payload: bytes = b"") -> bytes:
    """One BIFF12 record: type (1-2 bytes), size (1-4 bytes), payload."""
    return _varint(kind, 2) + _varint(len(payload), 4) + payload


def wide_string(text: str) -> bytes:
    """XLWideString: a 4-byte count of UTF-16 code units, then UTF-16LE."""
    data = text.encode("utf-16-le")
    return struct.pack("<I", len(data) // 2) + data


def _cell(col: int, value, strings: dict) -> bytes:
    head = struct.pack("<II", col, 0)  # column, then style index 0 (24 bits) and flags (8 bits)
    if isinstance(value, str):
        index = strings.setdefault(value, len(strings))
        return record(BrtCellIsst, head + struct.pack("<I", index))
    if isinstance(value, bool):
        raise TypeError("no booleans in these fixtures")
    if float(value).is_integer() and -(2 ** 29) <= value < 2 ** 29:
        # RkNumber: the value shifted left 2, fInt (bit 1) set, fX100 (bit 0) clear
        return record(BrtCellRk, head + struct.pack("<i", (int(value) << 2) | 0x2))
    return record(BrtCellReal, head + struct.pack("<d", float(value)))


def sheet_part(rows: list, strings: dict) -> bytes:
    """A worksheet part: rows of cells (None or "" is an empty cell, not written)."""
    filled = [(r, [(c, v) for c, v in enumerate(row) if v is not None and v != ""]) for r, row in enumerate(rows)]
    filled = [(r, cells) for r, cells in filled if cells]
    last_row = max((r for r, _ in filled), default=0)
    last_col = max((c for _, cells in filled for c, _ in cells), default=0)
    out = [record(BrtBeginSheet),
           record(BrtWsDim, struct.pack("<IIII", 0, last_row, 0, last_col)),  # rwFirst, rwLast, colFirst, colLast
           record(BrtBeginSheetData)]
    for r, cells in filled:
        # rw, ixfe, miyRw (height in twips: 15 pt), 3 flag bytes, one column span (first, last)
        out.append(record(BrtRowHdr, struct.pack("<IIHBBBIII", r, 0, 300, 0, 0, 0, 1, cells[0][0], cells[-1][0])))
        out.extend(_cell(c, v, strings) for c, v in cells)
    out += [record(BrtEndSheetData), record(BrtEndSheet)]
    return b"".join(out)


def strings_part(strings: dict, uses: int) -> bytes:
    """The shared-string table: total uses and unique count, then one BrtSSTItem (plain RichStr) each."""
    items = [record(BrtSSTItem, b"\x00" + wide_string(s)) for s in strings]  # flags 0: no rich runs
    return record(BrtBeginSst, struct.pack("<II", uses, len(strings))) + b"".join(items) + record(BrtEndSst)


def workbook_part(names: list) -> bytes:
    """The workbook part: one BrtBundleSh per sheet (visible, tab id, relationship id, name)."""
    sheets = [record(BrtBundleSh, struct.pack("<II", 0, i) + wide_string(f"rId{i}") + wide_string(name))
              for i, name in enumerate(names, start=1)]
    return (record(BrtBeginBook) + record(BrtBeginBundleShs) + b"".join(sheets) + record(BrtEndBundleShs)
            + record(BrtEndBook))


def write_xlsb(path: Path, sheets: dict) -> None:
    """Write ``{sheet name: rows}`` as an .xlsb workbook."""
    strings: dict = {}
    parts = {f"xl/worksheets/sheet{i}.bin": sheet_part(rows, strings)
             for i, rows in enumerate(sheets.values(), start=1)}
    uses = sum(isinstance(v, str) and v != "" for rows in sheets.values() for row in rows for v in row)
    n = len(sheets)
    sheet_types = "".join(f'<Override PartName="/xl/worksheets/sheet{i}.bin" '
                          'ContentType="application/vnd.ms-excel.worksheet"/>' for i in range(1, n + 1))
    content_types = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.bin" ContentType="application/vnd.ms-excel.sheet.binary.macroEnabled.main"/>'
        f"{sheet_types}"
        '<Override PartName="/xl/sharedStrings.bin" ContentType="application/vnd.ms-excel.sharedStrings"/>'
        "</Types>")
    root_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                 f'<Relationship Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.bin"/></Relationships>')
    book_rels = "".join(f'<Relationship Id="rId{i}" Type="{REL}/worksheet" Target="worksheets/sheet{i}.bin"/>'
                        for i in range(1, n + 1))
    book_rels = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="{PKG_REL}">'
                 f'{book_rels}<Relationship Id="rId{n + 1}" Type="{REL}/sharedStrings" '
                 'Target="sharedStrings.bin"/></Relationships>')
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        # a fixed date so that running the script again gives the same bytes
        def put(name, data):
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data, zipfile.ZIP_DEFLATED)
        put("[Content_Types].xml", content_types)
        put("_rels/.rels", root_rels)
        put("xl/workbook.bin", workbook_part(list(sheets)))
        put("xl/_rels/workbook.bin.rels", book_rels)
        for name, data in parts.items():
            put(name, data)
        put("xl/sharedStrings.bin", strings_part(strings, uses))


def main() -> None:
    import openpyxl
    import pandas as pd

    wb = openpyxl.load_workbook(HERE / "formats.xlsx", read_only=True)
    rows = [list(r) for r in wb["Visits"].iter_rows(values_only=True)]
    wb.close()
    write_xlsb(HERE / "formats.xlsb", {"Visits": rows})

    df = pd.read_csv(ORTHODONT)
    table = [list(df.columns)] + [[v.item() if hasattr(v, "item") else v for v in r]
                                  for r in df.itertuples(index=False)]
    write_xlsb(HERE / "orthodont.xlsb", {"Read me": [["note"], ["the data are on the next sheet"]],
                                         "Orthodont": table})


if __name__ == "__main__":
    main()
