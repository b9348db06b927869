#!/usr/bin/env bash
# The test command (README, .ci/run): install everything the tests need, then run them.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow
python -m pip install -q torch==2.13.0 -e ".[dev]"
python -m pytest -q "$@"
