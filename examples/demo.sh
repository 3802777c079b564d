#!/usr/bin/env bash
# A short tour of statevcs on the embedded store, in a temporary directory:
# branch an agent experiment, diff it, tag the good state, restore it.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b=$'\033[1m'; r=$'\033[0m'; else b=''; r=''; fi
say() { printf '\n%s$ %s%s\n' "$b" "$*" "$r"; "$@"; }
export STATEVCS_AUTHOR=demo

say statevcs init demo
cd demo
echo '{"agent": {"status": "idle", "memory": []}, "budget": 100}' > state.json
say statevcs commit -m "first state"
say statevcs tag v1 -m "known good"
say statevcs switch -c experiment
say statevcs set /agent/status '"running"'
say statevcs set /agent/memory/- '{"role": "user", "text": "plan the trip"}'
say statevcs set /budget 60
say statevcs commit -m "try running with a smaller budget"
say statevcs diff main experiment
say statevcs diff main experiment --format patch
say statevcs diff main experiment --format markdown
say statevcs log --oneline
say statevcs log --path /budget --oneline
say statevcs cat v1 /agent
say statevcs restore v1
say statevcs cat HEAD
say statevcs fsck
echo
echo "demo finished: the experiment is in history, the branch is back at v1's state"
