"""``mixgui --demo --screenshot FILE`` end to end, in a separate process (offscreen)."""
import os
import struct
import subprocess
import sys

import pytest


def _png_size(path) -> tuple:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.slow
def test_demo_screenshot_offscreen(tmp_path):
    out = tmp_path / "shot.png"
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "mixgui", "--demo", "--screenshot", str(out)],
                          env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    width, height = _png_size(out)
    assert width >= 1200 and height >= 700
    assert out.stat().st_size > 50_000  # a real picture, not an empty window


def test_screenshot_with_a_bad_file_exits_nonzero(tmp_path):
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", HOME=str(tmp_path), XDG_CONFIG_HOME=str(tmp_path))
    proc = subprocess.run([sys.executable, "-m", "mixgui", "--screenshot", str(tmp_path / "x.png"),
                           str(tmp_path / "missing.csv")], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    assert "does not exist" in proc.stderr
    assert "Traceback" not in proc.stderr
