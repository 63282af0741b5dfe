"""Makes the small files in this folder (run: python make_data.py). The tests check every cell.

wide_titled.xlsx, sheet "Visits": two title rows, the column names in row 3, blood pressure at
visits T0, T1 and T3 (no visit 2), 999 for "not measured"; a second sheet "Notes" so the sheet
choice matters.
wide_titled.csv: the same table as a European CSV (semicolons, decimal commas, cp1252 text),
one title row, and "n/a" as well as 999 for missing.
"""
from pathlib import Path

from openpyxl import Workbook

HERE = Path(__file__).parent
HEADER = ["patient id", "Sex", "age", "bp_T0", "bp_T1", "bp_T3"]
ROWS = [
    ["P01", "F", 54, 140, 135.5, 999],
    ["P02", "M", 999, 150, 999, 138],
    ["P03", "F", 61, 132, 130, 128],
    ["P04", "M", 47, 999, 141, 137.25],
]


def xlsx():
    wb = Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws["A1"] = "Exported from the study database"
    ws2 = wb.create_sheet("Visits")
    ws2["A1"] = "Blood pressure study – systolic (mmHg)"
    ws2["A2"] = "Site: Ghent"
    ws2.append(HEADER)
    for r in ROWS:
        ws2.append(r)
    wb.save(HERE / "wide_titled.xlsx")


def csv():
    lines = ["Blodtryk – studie"]
    lines.append(";".join(HEADER))
    for r in ROWS:
        cells = [str(v).replace(".", ",") for v in r]
        lines.append(";".join(cells))
    lines[3] = lines[3].replace(";999;", ";n/a;", 1)  # P02's age written as n/a instead of 999
    (HERE / "wide_titled.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("cp1252"))


if __name__ == "__main__":
    xlsx()
    csv()
