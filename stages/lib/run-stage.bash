#!/usr/bin/env bash
# run-stage.bash SCRIPT ARG: run one stage script in its own session and process group, so
# that cancelling the stage (TERM, INT or HUP reaching this wrapper, e.g. from Ctrl-C or an
# ssh signal request) stops everything the stage started, not only its shell.
set -uo pipefail
script=${1:?usage: run-stage.bash SCRIPT ARG}
arg=${2:?usage: run-stage.bash SCRIPT ARG}

setsid bash "$script" "$arg" < /dev/null &
child=$!

stop() {
  trap '' TERM INT HUP
  echo "run-stage: stopping $(basename "$(dirname "$script")") (process group $child)" >&2
  kill -TERM -- "-$child" 2>/dev/null
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    kill -0 -- "-$child" 2>/dev/null || exit 143
    sleep 1
  done
  kill -KILL -- "-$child" 2>/dev/null
  exit 143
}
trap stop TERM INT HUP

wait "$child"
exit $?
