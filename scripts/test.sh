#!/usr/bin/env bash
# The test command (README, .ci/run): install everything the tests need, then run them.
# Locally the tests marked slow (notebook execution) are skipped; in CI (CI=true) everything runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow
python -m pip install -q torch==2.13.0 -e ".[dev]"
if [ "${CI:-}" = "true" ] || [ "${CARDIACML_SLOW:-}" = "1" ]; then
  python -m pytest -q "$@"
else
  python -m pytest -q -m "not slow" "$@"
fi
