#!/usr/bin/env bash
# The test command (README, .ci/run): install everything the tests need, then run them.
# Locally the tests marked slow (notebook execution) are skipped; in CI (CI=true) everything runs.
set -euo pipefail
cd "$(dirname "$0")/.."
export MPLBACKEND=Agg VTK_DEFAULT_OPENGL_WINDOW=vtkEGLRenderWindow
python -m pip install -q torch==2.13.0 -e ".[dev]"
# headless Chromium for the browser tests of the interactive pages (skipped with a reason where it is missing)
if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null; then
  if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null) \
      || echo "chromium not installed: browser tests will be skipped"
  else
    echo "chromium/chromedriver not found (apt-get install chromium chromium-driver): browser tests will be skipped"
  fi
fi
python -m ruff check src tests benchmarks notebooks  # the lint rules of pyproject.toml (cheap: under a second)
if [ "${CI:-}" = "true" ] || [ "${CARDIACML_SLOW:-}" = "1" ]; then
  python -m pytest -q "$@"
else
  python -m pytest -q -m "not slow" "$@"
fi
