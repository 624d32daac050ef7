#!/usr/bin/env bash
# The main job on the embedded defaults over examples/: ingest -> search -> ask -> check examples -> decide.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAGTUNE_HOME="${RAGTUNE_HOME:-.ragtune-demo}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RT=".venv/bin/ragtune"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. ingest examples/docs into the 'support' index (md, txt, html)"
$RT ingest examples/docs --index support
step "   re-ingest: unchanged documents cost nothing"
$RT ingest examples/docs --index support --json

step "2. hybrid search"
$RT search "how do I rotate keys" --index support --k 3

step "3. a cited answer (offline default generator), and a refusal"
$RT ask "What does the audit log record?" --index support
$RT ask "What is the CEO's favourite colour?" --index support || true

step "4. check the fine-tuning examples (support tickets -> JSON triage)"
$RT data check examples/tickets.jsonl

step "5. the rules-only prior (nothing measured yet)"
$RT advise --index support --examples examples/tickets.jsonl --queries-per-month 50000 --attribution --set tokenizer=regex

step "6. the decision: base, prompt, rag, ft and rag+ft on the same held-out questions (local model, CPU budget)"
$RT decide --index support --questions examples/questions.jsonl --examples examples/tickets.jsonl -m local \
    --queries-per-month 50000 --attribution --budget "${DEMO_BUDGET:-4m}" --max-length 160 \
    --max-format-questions "${DEMO_FORMAT_QUESTIONS:-12}" --resume \
    --out "$RAGTUNE_HOME/decide.json" --report "$RAGTUNE_HOME/decide.html"

step "7. the tuned models decide trained, as versioned artefacts"
$RT models
printf '\nreport: %s/decide.html  (per-question rows: %s/decide.json)\n' "$RAGTUNE_HOME" "$RAGTUNE_HOME"
