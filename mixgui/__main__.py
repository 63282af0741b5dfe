"""``python -m mixgui`` (also the PyInstaller entry point)."""
import sys

from mixgui.cli import main

if __name__ == "__main__":
    sys.exit(main())
