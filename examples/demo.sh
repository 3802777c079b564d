#!/usr/bin/env bash
# A short tour of statevcs on the embedded store, in a temporary directory:
# branch an agent experiment, diff it, tag the good state, restore it.
# Every command is printed as you would type it (quoted for a POSIX shell), so the
# output is a transcript you can paste back in.
set -euo pipefail
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
if [ -t 1 ] && [ -z "${NO_COLOR:-}" ]; then b=$'\033[1m'; r=$'\033[0m'; else b=''; r=''; fi

# quote ARG: ARG as a shell word, quoted only when it needs it (as Python's shlex.quote).
quote() {
  case $1 in
    '') printf "''" ;;
    *[!A-Za-z0-9_./:=@%+,-]*) local sq="'" esc="'\\''"; printf "'%s'" "${1//"$sq"/"$esc"}" ;;
    *) printf '%s' "$1" ;;
  esac
}
# show TEXT: print a command line the way a shell session shows it.
show() { printf '\n%s$ %s%s\n' "$b" "$1" "$r"; }
# say CMD ARGS...: show the command, quoted, then run it.
say() {
  local line="" arg
  for arg in "$@"; do line+="${line:+ }$(quote "$arg")"; done
  show "$line"
  "$@"
}
export STATEVCS_AUTHOR=demo

state='{"agent": {"status": "idle", "memory": []}, "budget": 100}'
say statevcs init demo
say cd demo
show "echo $(quote "$state") > state.json"
echo "$state" > state.json
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
