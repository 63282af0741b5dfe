"""Test configuration shared by every test folder."""
import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REFERENCE = Path(__file__).parent / "reference"


@pytest.fixture
def reference_dir() -> Path:
    """tests/reference: R-made numbers with the scripts that made them."""
    return REFERENCE
