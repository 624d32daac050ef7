#!/usr/bin/env bash
# The whole decision on the embedded defaults over examples/: ingest -> ask -> tune -> raft -> eval -> advise.
set -euo pipefail
cd "$(dirname "$0")/.."
export RAGTUNE_HOME="${RAGTUNE_HOME:-.ragtune-demo}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-1}" TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1
RT=".venv/bin/ragtune"
has() { $RT "$@" --help >/dev/null 2>&1; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "1. ingest examples/docs into the 'support' index (md, txt, html)"
$RT ingest examples/docs --index support
step "   re-ingest: unchanged documents cost nothing"
$RT ingest examples/docs --index support --json

step "2. hybrid search"
$RT search "how do I rotate keys" --index support --k 3

step "3. a cited answer (offline default generator)"
$RT ask "What does the audit log record?" --index support
$RT ask "What is the CEO's favourite colour?" --index support || true

step "4. check the fine-tuning examples (support tickets -> JSON triage)"
$RT data check examples/tickets.jsonl
$RT data split examples/tickets.jsonl --test 0.2 --seed 7 --stratify output.category --out-dir "$RAGTUNE_HOME/splits" --force

step "5. LoRA-tune the default local model on the tickets (a short budget)"
$RT tune lora --data examples/tickets.jsonl --base local --name tickets --max-steps "${DEMO_LORA_STEPS:-40}" --batch-size 4 --max-length 96
$RT models
$RT ask "urgent: Backups stopped running in May" -m tuned:tickets || true

step "6. both together: RAFT on the example questions (oracle + distractor chunks), answering over the index"
$RT tune raft --index support --questions examples/questions.jsonl --name support-raft --distractors 2 \
    --max-steps "${DEMO_RAFT_STEPS:-6}" --batch-size 1 --max-length 1024
$RT ask "How long are audit log entries kept?" --index support -m tuned:support-raft || true

if has eval; then
  step "7. side by side: base and rag on the example questions"
  $RT eval examples/questions.jsonl --index support --variants base,rag -m extractive \
      --out "$RAGTUNE_HOME/results/run1.json" --report "$RAGTUNE_HOME/results/run1.html"
fi

if has advise; then
  step "8. the decision"
  ADVISE_ARGS=(--index support --examples examples/tickets.jsonl --queries-per-month 50000)
  [ -f "$RAGTUNE_HOME/results/run1.json" ] && ADVISE_ARGS+=(--eval "$RAGTUNE_HOME/results/run1.json")
  $RT advise "${ADVISE_ARGS[@]}" --report "$RAGTUNE_HOME/advice.html"
fi
printf '\nreports: %s\n' "$RAGTUNE_HOME"
