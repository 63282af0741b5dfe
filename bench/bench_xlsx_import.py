"""The import dialog's reading path on a wide workbook: 200 numeric columns x 2,000 rows (+ an ID column).

    .venv/bin/python bench/bench_xlsx_import.py            # writes /tmp/mixgui_wide_200x2000.xlsx once

Times each stage the dialog runs (title rows found, sheet names, raw rows, preview of 50 rows) and
the final read when OK is pressed; exits 1 when the whole path takes 5 s or more.
"""
from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd


def main() -> int:
    from mixgui.data.importing import preview, raw_rows, read_with_options, suggest_options
    from mixgui.data.readers import excel_sheets

    path = Path(tempfile.gettempdir()) / "mixgui_wide_200x2000.xlsx"
    if not path.exists():
        rng = np.random.default_rng(0)
        frame = pd.DataFrame(rng.normal(size=(2000, 200)).round(4), columns=[f"var_{i:03d}" for i in range(200)])
        frame.insert(0, "subject", [f"S{i}" for i in range(2000)])
        frame.to_excel(path, index=False)
    start = time.perf_counter()

    def lap(name, fn):
        t = time.perf_counter()
        out = fn()
        print(f"{name:32s} {time.perf_counter() - t:6.2f} s", flush=True)
        return out
    options = lap("suggest_options (title rows)", lambda: suggest_options(path))
    lap("excel_sheets", lambda: excel_sheets(path))
    lap("raw_rows (12 rows)", lambda: raw_rows(path, options.with_(skip_rows=0), nrows=12))
    lap("preview (50 rows)", lambda: preview(path, options, nrows=50))
    ds = lap("read_with_options (OK pressed)", lambda: read_with_options(path, options))
    total = time.perf_counter() - start
    print(f"{ds.frame.shape[0]} x {ds.frame.shape[1]}: {total:.2f} s in all (limit 5 s)")
    return 0 if total < 5 else 1


if __name__ == "__main__":
    sys.exit(main())
