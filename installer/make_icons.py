"""Draw the MixGUI icon and write it as PNG, Windows .ico and macOS .icns, without PIL.

    python installer/make_icons.py            # writes installer/icons/mixgui.{png,ico,icns}

The picture is a "spaghetti plot": a rounded blue square, a few thin white lines (one per group, each
with its own intercept and slope: the random effects), one thick orange line (the fixed effect) and a
handful of data points. Each size is drawn directly (not scaled down from a big one) with analytic
anti-aliasing: every shape is a signed distance field and a pixel's coverage is 0.5 - distance.
Needs numpy only (a dependency of MixGUI); PNG is written with zlib, .ico and .icns hold PNG images
(supported by Windows Vista and later and by macOS 10.7 and later).
"""
from __future__ import annotations

import struct
import sys
import zlib
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "icons"

BG_TOP = np.array([0.16, 0.47, 0.80])     # blue
BG_BOTTOM = np.array([0.07, 0.25, 0.52])  # darker blue
WHITE = np.array([1.0, 1.0, 1.0])
ORANGE = np.array([1.0, 0.62, 0.16])

# Group lines in unit coordinates (0..1, y down): (x0, y0, x1, y1)
GROUP_LINES = [(0.22, 0.66, 0.80, 0.36), (0.22, 0.74, 0.80, 0.56), (0.22, 0.58, 0.80, 0.22),
               (0.22, 0.80, 0.80, 0.70)]
FIXED_LINE = (0.20, 0.70, 0.82, 0.44)
POINTS = [(0.30, 0.60), (0.38, 0.70), (0.46, 0.50), (0.55, 0.62), (0.62, 0.42), (0.70, 0.53), (0.76, 0.33),
          (0.34, 0.77), (0.66, 0.66)]


def _coverage(dist_px: np.ndarray) -> np.ndarray:
    return np.clip(0.5 - dist_px, 0.0, 1.0)


def _segment_dist(px, py, x0, y0, x1, y1):
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((px - x0) * dx + (py - y0) * dy) / (dx * dx + dy * dy), 0.0, 1.0)
    return np.hypot(px - (x0 + t * dx), py - (y0 + t * dy))


def _rounded_box_dist(px, py, cx, cy, half, radius):
    qx = np.abs(px - cx) - (half - radius)
    qy = np.abs(py - cy) - (half - radius)
    outside = np.hypot(np.maximum(qx, 0.0), np.maximum(qy, 0.0))
    inside = np.minimum(np.maximum(qx, qy), 0.0)
    return outside + inside - radius


def render(size: int) -> np.ndarray:
    """The icon as an RGBA uint8 array of shape (size, size, 4)."""
    s = float(size)
    y, x = np.mgrid[0:size, 0:size].astype(float) + 0.5  # pixel centres
    rgb = np.zeros((size, size, 3))
    alpha = np.zeros((size, size))

    def paint(cover, colour, opacity=1.0):
        nonlocal rgb, alpha
        a = (cover * opacity)[..., None]
        rgb = colour * a + rgb * (1 - a)  # "over", rgb premultiplied by alpha
        alpha = a[..., 0] + alpha * (1 - a[..., 0])

    # Background: macOS-style margin (~10 %) only at large sizes; small sizes use the whole square.
    margin = 0.09 * s if size >= 64 else 0.02 * s
    half = s / 2 - margin
    box = _rounded_box_dist(x, y, s / 2, s / 2, half, 0.22 * 2 * half)
    grad = ((y - margin) / (2 * half)).clip(0, 1)[..., None]
    paint(_coverage(box), BG_TOP * (1 - grad) + BG_BOTTOM * grad)
    inside = _coverage(box)

    thin = max(1.0, 0.018 * s)
    thick = max(1.6, 0.045 * s)
    dot = max(1.2, 0.028 * s)
    small = size < 32
    lines = GROUP_LINES[:3] if small else GROUP_LINES
    for (x0, y0, x1, y1) in lines:
        d = _segment_dist(x, y, x0 * s, y0 * s, x1 * s, y1 * s) - thin / 2
        paint(_coverage(d) * inside, WHITE, 0.55 if not small else 0.7)
    if not small:
        for (cx, cy) in POINTS:
            d = np.hypot(x - cx * s, y - cy * s) - dot
            paint(_coverage(d) * inside, WHITE, 0.95)
    x0, y0, x1, y1 = FIXED_LINE
    d = _segment_dist(x, y, x0 * s, y0 * s, x1 * s, y1 * s) - thick / 2
    paint(_coverage(d) * inside, ORANGE)

    out = np.zeros((size, size, 4))
    nz = alpha > 0  # un-premultiply: PNG stores straight alpha
    out[..., :3][nz] = rgb[nz] / alpha[nz][..., None]
    out[..., 3] = alpha
    return (out.clip(0, 1) * 255 + 0.5).astype(np.uint8)


def png_bytes(rgba: np.ndarray) -> bytes:
    h, w, _ = rgba.shape
    raw = b"".join(b"\x00" + rgba[r].tobytes() for r in range(h))  # filter type 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def ico_bytes(images: dict[int, bytes]) -> bytes:
    """A .ico holding PNG images (Windows Vista and later read PNG entries of any size)."""
    sizes = sorted(images)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = 6 + 16 * len(sizes)
    entries, blobs = b"", b""
    for sz in sizes:
        data = images[sz]
        dim = 0 if sz >= 256 else sz  # 0 means 256
        entries += struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(data), offset)
        blobs += data
        offset += len(data)
    return header + entries + blobs


ICNS_TYPES = [  # (OSType, pixel size) — all of these accept PNG data
    (b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256), (b"ic09", 512), (b"ic10", 1024),
    (b"ic11", 32), (b"ic12", 64), (b"ic13", 256), (b"ic14", 512),
]


def icns_bytes(images: dict[int, bytes]) -> bytes:
    body = b"".join(kind + struct.pack(">I", 8 + len(images[sz])) + images[sz] for kind, sz in ICNS_TYPES)
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    pngs = {sz: png_bytes(render(sz)) for sz in (16, 24, 32, 48, 64, 128, 256, 512, 1024)}
    (OUT / "mixgui.png").write_bytes(pngs[512])
    (OUT / "mixgui.ico").write_bytes(ico_bytes({sz: pngs[sz] for sz in (16, 24, 32, 48, 64, 128, 256)}))
    (OUT / "mixgui.icns").write_bytes(icns_bytes(pngs))
    for name in ("mixgui.png", "mixgui.ico", "mixgui.icns"):
        print(f"wrote {OUT / name} ({(OUT / name).stat().st_size // 1024} KiB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
