#!/usr/bin/env bash
# The main job on built-in sample data: a sample township and a month of its documents.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/archive --home "${ARCHIVE_DEMO_HOME:-archive-demo}" demo "$@"
