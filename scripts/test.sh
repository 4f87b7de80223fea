#!/usr/bin/env bash
# Lint and the test suite (OCR tests included; they are marked slow but always run).
set -euo pipefail
cd "$(dirname "$0")/.."
ARCHIVE_SETUP_TESTS=1 bash scripts/setup.sh
.venv/bin/ruff check src tests bench
exec .venv/bin/python -m pytest -q "$@"
