#!/usr/bin/env bash
# Build the MixGUI installer folder on Linux or macOS and smoke-test it.
#
#   installer/build.sh                 # venv in build/venv, build into dist/, then installer/smoke_test.py
#   installer/build.sh --no-smoke      # build only
#   installer/build.sh --platform native   # smoke-test the GUI on the real display (e.g. under xvfb-run)
#
# Environment: PYTHON (default python3, must be 3.11+) creates the venv; MIXGUI_VENV uses another venv
# (created when missing). Results: dist/mixgui/ (Linux, macOS), dist/MixGUI.app (macOS).
set -euo pipefail
cd "$(dirname "$0")/.."

smoke=1
smoke_args=()
for arg in "$@"; do
  case "$arg" in
    --no-smoke) smoke=0 ;;
    *) smoke_args+=("$arg") ;;
  esac
done

PYTHON="${PYTHON:-python3}"
VENV="${MIXGUI_VENV:-build/venv}"
if [ ! -x "$VENV/bin/python" ]; then
  echo "== creating $VENV with $($PYTHON --version)"
  "$PYTHON" -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer needed" >&2; exit 1; }

echo "== installing MixGUI with the build, spss and reports extras"
# spss (pyreadstat) and reports (python-docx) are frozen in: users of the installer cannot add them later.
"$PY" -m pip install -q --upgrade pip
"$PY" -m pip install -q -e ".[build]"

if [ ! -f installer/icons/mixgui.icns ] || [ ! -f installer/icons/mixgui.ico ]; then
  "$PY" installer/make_icons.py
fi

echo "== pyinstaller"
start=$(date +%s)
"$PY" -m PyInstaller --noconfirm --clean --log-level WARN --distpath dist --workpath build installer/mixgui.spec
echo "== built in $(( $(date +%s) - start )) s: $(du -sh dist/mixgui | cut -f1) in dist/mixgui"
if [ "$(uname)" = "Darwin" ]; then
  echo "   and $(du -sh dist/MixGUI.app | cut -f1) in dist/MixGUI.app"
fi

if [ "$smoke" = 1 ]; then
  echo "== smoke test"
  "$PY" installer/smoke_test.py --dist dist/mixgui --json-report dist/smoke-report.json ${smoke_args[@]+"${smoke_args[@]}"}
fi
