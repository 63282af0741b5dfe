"""Smoke test of the frozen MixGUI (dist/mixgui), run after every installer build.

    python installer/smoke_test.py [--dist dist/mixgui] [--platform offscreen|native] [--no-gui] [--json-report F]

Run it with the Python of the build environment (MixGUI installed there): the installed package is the
reference the frozen app is compared with. Checks:

1. ``mixgui --version`` of the frozen app names the version of the source tree.
2. ``mixgui fit`` of the frozen app gives the same results file as ``python -m mixgui fit`` of the installed
   package on reference analyses made from files in the repository (a regression, the demo study's nested
   mixed model read from .xlsx, a regression with names outside ASCII, sleepstudy random slopes with
   Kenward-Roger df): same keys, same strings, every number equal to 1e-7 relative (timings ignored). Also:
   UTF-8 results on standard output when --json is left out, and bad input gives exit status 2 with the same
   one line on standard error.
3. The frozen GUI starts (QT_QPA_PLATFORM=offscreen unless --platform native), opens the demo study, fits
   it, saves a screenshot (``--demo --screenshot``) and exits with status 0; the PNG is decoded and must
   not be blank.
4. Reports: folder size, time to a shown window (when the app prints ``mixgui-startup: window shown at
   <epoch seconds>`` on standard error with MIXGUI_REPORT_STARTUP=1), wall time of the screenshot run,
   start-up time of the frozen interpreter (``--version``) and fit times.

On Windows the fit checks use mixgui-cli.exe (the console executable; the windowed mixgui.exe has no
standard output) and the GUI check uses mixgui.exe; the shown-window time comes from mixgui-cli.exe.
Exit status 0 when everything passed. Standard library only (the PNG is decoded with zlib).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IS_WIN = sys.platform == "win32"
IS_MAC = sys.platform == "darwin"
EXE = ".exe" if IS_WIN else ""
IGNORED_KEYS = re.compile(r"(^|_)(seconds|elapsed|time|timestamp|created)$")
STARTUP_LINE = re.compile(r"mixgui-startup: window shown at ([0-9]+(?:\.[0-9]+)?)")
REL, ABS = 1e-7, 1e-10


class Report:
    def __init__(self):
        self.failures: list[str] = []
        self.figures: dict[str, object] = {}

    def ok(self, what: str) -> None:
        print(f"  ok    {what}", flush=True)

    def fail(self, what: str, detail: str = "") -> None:
        self.failures.append(what)
        print(f"  FAIL  {what}" + (f"\n        {detail}" if detail else ""), flush=True)

    def figure(self, key: str, value, text: str) -> None:
        self.figures[key] = value
        print(f"  ..    {text}", flush=True)


# -- reference analyses --------------------------------------------------------------------------------------

def make_cases(work: Path) -> dict[str, Path]:
    """Analysis files (with their data next to them) built from files in the repository."""
    cli = ROOT / "tests" / "reference" / "cli"
    ex = ROOT / "resources" / "examples"
    for src in (cli / "orthodont_long.csv", cli / "sleepstudy.csv", ex / "square_study.xlsx"):
        shutil.copy(src, work / src.name)
    # Names outside ASCII and outside the Windows code page (Δ): results are UTF-8 in files and on stdout
    text = (cli / "orthodont_long.csv").read_text(encoding="utf-8").split("\n", 1)
    text[0] = text[0].replace('"distance"', '"ΔGröße"').replace('"Sex"', '"Geschlecht"')
    (work / "orthodont_ümlaut.csv").write_text("\n".join(text), encoding="utf-8")
    analyses = {
        "regression": {"data": {"path": "orthodont_long.csv"}, "formula": "distance ~ agen * Sex",
                       "reference_levels": {"Sex": "Male"}},
        "demo_nested_xlsx": json.loads((ex / "square_study.analysis.json").read_text(encoding="utf-8")),
        "non_ascii_names": {"data": {"path": "orthodont_ümlaut.csv"}, "formula": "ΔGröße ~ agen * Geschlecht",
                            "reference_levels": {"Geschlecht": "Male"}},
        "random_slopes_kr": {"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Days + (Days | Subject)",
                             "method": "REML", "df_method": "kenward-roger", "factors": ["Subject"]},
    }
    out = {}
    for name, a in analyses.items():
        (work / f"{name}.json").write_text(json.dumps(a, indent=1), encoding="utf-8")
        out[name] = work / f"{name}.json"
    return out


def compare(got, want, where="result") -> list[str]:
    """Differences between two results files (numbers to REL/ABS, timings ignored)."""
    if isinstance(want, dict):
        if not isinstance(got, dict):
            return [f"{where}: {type(got).__name__} instead of an object"]
        diffs = []
        keys = [k for k in set(want) | set(got) if not IGNORED_KEYS.search(str(k))]
        for k in sorted(keys, key=str):
            if k not in got or k not in want:
                diffs.append(f"{where}.{k}: only in the {'installed' if k in want else 'frozen'} results")
            else:
                diffs += compare(got[k], want[k], f"{where}.{k}")
        return diffs
    if isinstance(want, list):
        if not isinstance(got, list) or len(got) != len(want):
            return [f"{where}: list of {len(got) if isinstance(got, list) else '?'} instead of {len(want)}"]
        return [d for i, (g, w) in enumerate(zip(got, want)) for d in compare(g, w, f"{where}[{i}]")]
    if isinstance(want, bool) or isinstance(got, bool) or not isinstance(want, (int, float)):
        return [] if got == want else [f"{where}: {got!r} instead of {want!r}"]
    if not isinstance(got, (int, float)):
        return [f"{where}: {got!r} instead of {want!r}"]
    if math.isnan(want) or math.isnan(got):
        return [] if math.isnan(want) and math.isnan(got) else [f"{where}: {got!r} instead of {want!r}"]
    return [] if abs(got - want) <= max(ABS, REL * abs(want)) else [f"{where}: {got!r} instead of {want!r}"]


def run(cmd, timeout=600, env=None, cwd=None):
    t0 = time.perf_counter()
    p = subprocess.run([str(c) for c in cmd], capture_output=True, text=True, timeout=timeout, env=env, cwd=cwd,
                       encoding="utf-8", errors="replace")
    return p, time.perf_counter() - t0


def check_fit(rep: Report, cli: Path, ref_python: str, work: Path) -> None:
    cases = make_cases(work)
    for name, analysis in cases.items():
        ref_out, frz_out = work / f"{name}.installed.out.json", work / f"{name}.frozen.out.json"
        p_ref, t_ref = run([ref_python, "-m", "mixgui", "fit", analysis, "--json", ref_out])
        p_frz, t_frz = run([cli, "fit", analysis, "--json", frz_out])
        if p_ref.returncode != 0:
            rep.fail(f"fit {name}: the installed package itself fails (exit {p_ref.returncode}); not an installer "
                     "problem, but nothing to compare", p_ref.stderr.strip()[-400:])
            continue
        if p_frz.returncode != 0:
            rep.fail(f"fit {name}: frozen app exit {p_frz.returncode}", p_frz.stderr.strip()[-800:])
            continue
        diffs = compare(json.loads(frz_out.read_text(encoding="utf-8")), json.loads(ref_out.read_text(encoding="utf-8")))
        if diffs:
            rep.fail(f"fit {name}: {len(diffs)} differences", "\n        ".join(diffs[:10]))
        else:
            rep.ok(f"fit {name}: same results as the installed package ({t_frz:.2f} s frozen, {t_ref:.2f} s installed)")
        rep.figures[f"fit_seconds_{name}"] = round(t_frz, 2)

    # results on standard output (UTF-8, whatever the console's code page)
    name, analysis = "non_ascii_names", cases["non_ascii_names"]
    p, _ = run([cli, "fit", analysis])
    try:
        diffs = compare(json.loads(p.stdout), json.loads((work / f"{name}.frozen.out.json").read_text(encoding="utf-8")))
        if not diffs and p.returncode == 0:
            rep.ok("fit without --json writes the results to standard output")
        else:
            rep.fail("fit to standard output differs", "\n        ".join(diffs[:5]))
    except (ValueError, OSError) as e:
        rep.fail("fit without --json: no results on standard output", f"{e}; stderr: {p.stderr.strip()[-300:]}")

    # bad input: exit 2, one line on standard error, the same as the installed package
    bad = work / "bad.json"
    bad.write_text(json.dumps({"data": {"path": "sleepstudy.csv"}, "formula": "Reaction ~ Dayz + (1 | Subject)"}))
    p_ref, _ = run([ref_python, "-m", "mixgui", "fit", bad])
    p_frz, _ = run([cli, "fit", bad])
    lines = p_frz.stderr.strip().splitlines()
    if p_frz.returncode == 2 and len(lines) == 1 and p_frz.stderr.strip() == p_ref.stderr.strip():
        rep.ok(f"bad input: exit 2 and one line on standard error ({lines[0][:70]}...)")
    else:
        rep.fail("bad input", f"frozen exit {p_frz.returncode} {p_frz.stderr.strip()[-300:]!r}; "
                              f"installed exit {p_ref.returncode} {p_ref.stderr.strip()[-300:]!r}")


# -- PNG ---------------------------------------------------------------------------------------------------------

def read_png(path: Path):
    """(width, height, channels, rows) of an 8-bit PNG; rows are bytearrays of unfiltered samples."""
    data = path.read_bytes()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("not a PNG file")
    pos, idat, ihdr = 8, [], None
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            ihdr = struct.unpack(">IIBBBBB", body)
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            break
        pos += 12 + length
    w, h, depth, ctype, _, _, interlace = ihdr
    channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}[ctype]
    if depth != 8 or interlace:
        raise ValueError(f"unsupported PNG (bit depth {depth}, interlace {interlace})")
    raw = zlib.decompress(b"".join(idat))
    stride, bpp = w * channels, channels
    prev, rows = bytearray(stride), []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b, c = prev[i], prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(line)
        prev = line
    return w, h, channels, rows


def png_not_blank(path: Path) -> tuple[bool, str]:
    w, h, ch, rows = read_png(path)
    colours = set()
    for y in range(0, h, max(1, h // 200)):
        row = rows[y]
        for x in range(0, w, max(1, w // 200)):
            colours.add(bytes(row[x * ch:x * ch + min(ch, 3)]))
    # A blank (one-colour) or nearly blank grab has a handful of colours; a window with tables and text has many.
    return len(colours) >= 16, f"{w}x{h}, {len(colours)} colours in a 200x200 sample"


# -- GUI ---------------------------------------------------------------------------------------------------------

def check_gui(rep: Report, gui: Path, console: Path, platform: str, work: Path) -> None:
    env = dict(os.environ, MIXGUI_REPORT_STARTUP="1")
    if platform == "offscreen":
        env["QT_QPA_PLATFORM"] = "offscreen"
    else:
        env.pop("QT_QPA_PLATFORM", None)
    shot = work / "screenshot.png"
    t_start = time.time()
    try:
        p, wall = run([gui, "--demo", "--screenshot", shot], timeout=600, env=env, cwd=work)
    except subprocess.TimeoutExpired:
        rep.fail("GUI: --demo --screenshot did not exit within 600 s")
        return
    if p.returncode != 0:
        rep.fail(f"GUI: --demo --screenshot exit status {p.returncode}", p.stderr.strip()[-800:])
    else:
        rep.ok(f"GUI ({platform}): opened the demo, fitted it and exited cleanly")
    if not shot.exists():
        rep.fail("GUI: no screenshot written")
    else:
        try:
            good, detail = png_not_blank(shot)
            if good:
                rep.ok(f"screenshot is not blank ({detail})")
            else:
                rep.fail("screenshot is blank", detail)
        except (ValueError, KeyError, zlib.error, struct.error, TypeError) as e:
            rep.fail("screenshot is not a readable PNG", str(e))
    rep.figure("screenshot_run_seconds", round(wall, 2),
               f"--demo --screenshot took {wall:.2f} s (start, load the demo, fit, grab, exit)")
    shown = STARTUP_LINE.search(p.stderr)
    if shown is None and console != gui:  # windowed Windows exe: no stderr; ask the console twin
        t_start = time.time()
        p2, _ = run([console, "--demo", "--screenshot", work / "screenshot2.png"], timeout=600, env=env, cwd=work)
        shown = STARTUP_LINE.search(p2.stderr)
    if shown:
        rep.figure("startup_to_window_seconds", round(float(shown.group(1)) - t_start, 2),
                   f"time to a shown window: {float(shown.group(1)) - t_start:.2f} s")
    else:
        rep.figures["startup_to_window_seconds"] = None
        print("  ..    time to a shown window: not reported (the app prints it with MIXGUI_REPORT_STARTUP=1)")


# -- main --------------------------------------------------------------------------------------------------------

def folder_size(path: Path) -> int:
    return sum(f.lstat().st_size for f in path.rglob("*") if f.is_file() or f.is_symlink())


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--dist", default=str(ROOT / "dist" / "mixgui"), help="the one-folder build (default dist/mixgui)")
    ap.add_argument("--python", default=sys.executable, help="Python with MixGUI installed: the reference")
    ap.add_argument("--platform", choices=["offscreen", "native"], default="offscreen",
                    help="Qt platform of the GUI check: offscreen (default) or the real display (e.g. under xvfb-run)")
    ap.add_argument("--no-gui", action="store_true", help="skip the GUI check")
    ap.add_argument("--json-report", help="write the figures and failures to this JSON file")
    args = ap.parse_args(argv)

    dist = Path(args.dist).resolve()
    gui = dist / f"mixgui{EXE}"
    cli = dist / "mixgui-cli.exe" if IS_WIN else gui
    rep = Report()
    print(f"MixGUI smoke test of {dist}")
    for exe in {gui, cli}:
        if not exe.exists():
            print(f"  FAIL  {exe} does not exist: build first (installer/build.sh)")
            return 1

    p, t = run([cli, "--version"], timeout=120)
    want = subprocess.run([args.python, "-c", "import mixgui; print(mixgui.__version__)"], capture_output=True,
                          text=True).stdout.strip()
    if p.returncode == 0 and p.stdout.strip() == f"MixGUI {want}":
        rep.ok(f"--version: {p.stdout.strip()}")
    else:
        rep.fail("--version", f"exit {p.returncode}: {p.stdout.strip()!r} {p.stderr.strip()[-300:]!r}, want MixGUI {want}")
    rep.figure("version_seconds", round(t, 2), f"frozen interpreter start (--version, first run): {t:.2f} s")
    p, t = run([cli, "--version"], timeout=120)
    rep.figure("version_seconds_warm", round(t, 2), f"frozen interpreter start (--version, warm): {t:.2f} s")

    if IS_MAC:
        import plistlib
        app = dist.parent / "MixGUI.app"
        plist = app / "Contents" / "Info.plist"
        if plist.exists():
            info = plistlib.loads(plist.read_bytes())
            if info.get("CFBundleShortVersionString") == want and info.get("NSHighResolutionCapable"):
                rep.ok(f"MixGUI.app Info.plist: version {want}, high resolution")
            else:
                rep.fail("MixGUI.app Info.plist", repr({k: info.get(k) for k in
                                                        ("CFBundleShortVersionString", "NSHighResolutionCapable")}))
            p, _ = run([app / "Contents" / "MacOS" / "mixgui", "--version"], timeout=120)
            if p.returncode == 0:
                rep.ok("MixGUI.app runs")
            else:
                rep.fail("MixGUI.app does not run", p.stderr[-300:])
            rep.figure("app_bundle_mib", round(folder_size(app) / 2**20, 1),
                       f"MixGUI.app: {folder_size(app) / 2**20:.0f} MiB")
        else:
            rep.fail(f"{app} missing")

    with tempfile.TemporaryDirectory(prefix="mixgui-smoke-") as tmp:
        work = Path(tmp)
        check_fit(rep, cli, args.python, work)
        if not args.no_gui:
            check_gui(rep, gui, cli, args.platform, work)
            if (work / "screenshot.png").exists():
                keep = dist.parent / "smoke-screenshot.png"
                shutil.copy(work / "screenshot.png", keep)
                print(f"  ..    screenshot kept as {keep}")

    size = folder_size(dist)
    rep.figure("folder_mib", round(size / 2**20, 1), f"size of {dist.name}/: {size / 2**20:.0f} MiB "
               f"({sum(1 for _ in dist.rglob('*'))} files)")
    if args.json_report:
        Path(args.json_report).write_text(json.dumps({"platform": sys.platform, "failures": rep.failures,
                                                      **rep.figures}, indent=1), encoding="utf-8")
    print(f"smoke test: {'FAILED: ' + '; '.join(rep.failures) if rep.failures else 'passed'}")
    return 1 if rep.failures else 0


if __name__ == "__main__":
    sys.exit(main())
