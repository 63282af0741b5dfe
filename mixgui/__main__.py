"""``python -m mixgui`` (also the PyInstaller entry point)."""
import multiprocessing
import sys

from mixgui.cli import main

if __name__ == "__main__":
    # the frozen app's power simulations start worker processes: they must not run the app again
    multiprocessing.freeze_support()
    sys.exit(main())
