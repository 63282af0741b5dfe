"""Write the small pictures of the help pages as SVG files (run once: python3 make_pictures.py).

Each picture is made from a few numbers so that it shows the idea of its page; nothing here is
fitted to data.
"""
from __future__ import annotations

import math
from pathlib import Path

HERE = Path(__file__).resolve().parent
W, H = 320, 200
COL = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9"]


def _frame(body: str, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" viewBox="0 0 {W} {H}">'
            f'<rect width="{W}" height="{H}" fill="white"/>'
            f'<line x1="30" y1="{H - 25}" x2="{W - 10}" y2="{H - 25}" stroke="#444"/>'
            f'<line x1="30" y1="10" x2="30" y2="{H - 25}" stroke="#444"/>'
            f'<text x="{W / 2}" y="{H - 6}" font-size="11" text-anchor="middle" fill="#333">{title}</text>'
            f"{body}</svg>")


def _line(x0, y0, x1, y1, colour, width=1.5, dash=""):
    d = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x0:.1f}" y1="{y0:.1f}" x2="{x1:.1f}" y2="{y1:.1f}" stroke="{colour}" stroke-width="{width}"{d}/>'


def lines(slopes: bool) -> str:
    body = ""
    offsets = [-30, -18, -6, 6, 18, 30]
    for k, off in enumerate(offsets):
        # with random slopes each line has its own steepness (here unrelated to its start)
        s = 0.3 + (0.22 * ((k * 7) % 6 - 2.5) / 2.5 if slopes else 0)
        body += _line(40, 140 - off, 300, 140 - off - s * 260, COL[k], 1.5)
    body += _line(40, 140, 300, 140 - 0.3 * 260, "#222", 3.5)
    return _frame(body, "time → (thick: population line; thin: one line per patient)")


def pattern(kind: str) -> str:
    n, size, x0, y0 = 4, 34, 70, 20
    body = ""
    for i in range(n):
        for j in range(n):
            r = 1.0 if i == j else (0.6 ** abs(i - j) if kind == "ar1" else 0.45)
            shade = int(255 - 200 * r)
            body += (f'<rect x="{x0 + j * size}" y="{y0 + i * size}" width="{size - 2}" height="{size - 2}" '
                     f'fill="rgb({shade},{shade + 20 if shade < 235 else 255},255)"/>')
            body += (f'<text x="{x0 + j * size + size / 2 - 1}" y="{y0 + i * size + size / 2 + 4}" font-size="10" '
                     f'text-anchor="middle" fill="#111">{"1" if i == j else ("ρ" + ("" if abs(i - j) == 1 else "²³"[abs(i - j) - 2]) if kind == "ar1" else "ρ")}</text>')
    label = "AR(1): correlation fades with distance" if kind == "ar1" else "CS: the same correlation everywhere"
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}"><rect width="{W}" height="{H}" '
            f'fill="white"/>{body}<text x="{W / 2}" y="{H - 8}" font-size="11" text-anchor="middle" fill="#333">'
            f"{label}</text></svg>")


def icc_bar() -> str:
    parts = [("between patients", 0.6, COL[0]), ("within a patient", 0.4, COL[1])]
    x, body = 20, ""
    for name, share, colour in parts:
        w = share * (W - 40)
        body += f'<rect x="{x}" y="60" width="{w}" height="60" fill="{colour}"/>'
        body += (f'<text x="{x + w / 2}" y="95" font-size="12" text-anchor="middle" fill="white">'
                 f"{name} {share:.0%}</text>")
        x += w
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}"><rect width="{W}" height="{H}" '
            f'fill="white"/>{body}<text x="{W / 2}" y="150" font-size="12" text-anchor="middle" fill="#333">'
            "ICC = 0.6: 60 % of the variance lies between patients</text></svg>")


def reml_ml() -> str:
    body = ""
    pts = [(60 + 40 * k, 150 - 25 * math.sin(k / 1.3) - 12 * k) for k in range(6)]
    for x, y in pts:
        body += f'<circle cx="{x}" cy="{y:.1f}" r="4" fill="{COL[0]}"/>'
    body += _line(40, 160, 300, 60, "#222", 2)
    body += _line(40, 160, 300, 60, COL[3], 1, "4 3")
    return _frame(body, "the same line; REML widens the spread by what the slope used up")


def means() -> str:
    body = ""
    for k, (m, lo, hi) in enumerate([(120, 100, 140), (90, 72, 108), (60, 45, 75)]):
        x = 80 + 80 * k
        body += _line(x, lo, x, hi, COL[k], 2) + f'<circle cx="{x}" cy="{m}" r="6" fill="{COL[k]}"/>'
    return _frame(body, "a mean per arm, with its 95 % interval")


def t_curves() -> str:
    """The t density with few df has heavier tails than the normal: small df widen the interval."""
    def dens(x, df):
        if df is None:
            return math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
        c = math.gamma((df + 1) / 2) / (math.sqrt(df * math.pi) * math.gamma(df / 2))
        return c * (1 + x * x / df) ** (-(df + 1) / 2)
    body = ""
    for k, (df, label) in enumerate(((None, "normal (z)"), (3, "t, 3 df"))):
        pts = " ".join(f"{40 + (x + 4) * 32:.1f},{170 - dens(x, df) * 350:.1f}" for x in [i / 10 for i in range(-40, 41)])
        body += f'<polyline points="{pts}" fill="none" stroke="{COL[k]}" stroke-width="2"/>'
        body += f'<text x="{230}" y="{30 + 16 * k}" font-size="11" fill="{COL[k]}">{label}</text>'
    return _frame(body, "few df: heavier tails, so a larger t is needed for p < .05")


def logistic() -> str:
    """Predicted probability over time in two arms: S-shaped curves between 0 and 1."""
    body = ""
    for k, shift in enumerate((0.0, 1.2)):
        pts = " ".join(f"{40 + t * 26:.1f},{170 - 150 / (1 + math.exp(-(t - 5 + shift) * 0.9)):.1f}"
                       for t in [i / 4 for i in range(0, 41)])
        body += f'<polyline points="{pts}" fill="none" stroke="{COL[k]}" stroke-width="2"/>'
        body += f'<text x="44" y="{24 + 14 * k}" font-size="11" fill="{COL[k]}">{("control", "treated")[k]}</text>'
    return _frame(body, "time → probability of response, per arm (never below 0 or above 1)")


def power_curve() -> str:
    """Power rising with the number of clusters, the 80 % line dashed."""
    body = _line(30, 170 - 0.8 * 150, W - 10, 170 - 0.8 * 150, "#888", 1, "4 3")
    pts = " ".join(f"{30 + c * 9:.1f},{170 - 150 * (1 - math.exp(-c / 9)):.1f}" for c in range(2, 32))
    body += f'<polyline points="{pts}" fill="none" stroke="{COL[0]}" stroke-width="2"/>'
    body += f'<text x="{W - 14}" y="{170 - 0.8 * 150 - 4}" font-size="10" text-anchor="end" fill="#555">80 %</text>'
    return _frame(body, "clusters → power: more clusters help more than more patients per cluster")


if __name__ == "__main__":
    for name, svg in (("random_intercept", lines(False)), ("random_slope", lines(True)), ("ar1", pattern("ar1")),
                      ("cs", pattern("cs")), ("icc", icc_bar()), ("reml", reml_ml()), ("emmeans", means()), ("t_df", t_curves()),
                      ("logistic", logistic()), ("power", power_curve())):
        (HERE / f"{name}.svg").write_text(svg, encoding="utf-8")
