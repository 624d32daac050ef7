#!/usr/bin/env bash
# The main job on the embedded defaults over examples/: ingest, search (more steps join as features land).
set -euo pipefail
cd "$(dirname "$0")/.."
export RAGTUNE_HOME="${RAGTUNE_HOME:-.ragtune-demo}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}"
RT=".venv/bin/ragtune"

echo "== ingest examples/docs into the 'support' index"
$RT ingest examples/docs --index support
echo "== re-ingest: unchanged documents cost nothing"
$RT ingest examples/docs --index support --json
echo "== hybrid search"
$RT search "how do I rotate keys" --index support --k 3
