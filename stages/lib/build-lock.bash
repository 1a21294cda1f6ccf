#!/usr/bin/env bash
# build-lock.bash: one build at a time per build root. Builds share the root's builder/ and
# layers/ (a build's prune removes every unfinished layer, another build's too), so each run
# holds ROOT/build.lock from before the builder sync to its end. Run as root.
#
#   build-lock.bash acquire  ROOT TOKEN HOST PID COMMAND
#       take the lock when nobody holds it; else print the holder and exit 3
#   build-lock.bash takeover ROOT OLD_TOKEN TOKEN HOST PID COMMAND
#       take the lock over from OLD_TOKEN, judged abandoned; if another holds it by now, as acquire
#   build-lock.bash refresh  ROOT TOKEN      the holder's heartbeat; exit 4 when the lock is not TOKEN's
#   build-lock.bash release  ROOT TOKEN      remove the lock when it is TOKEN's; else exit 4
#   build-lock.bash show     ROOT            print the holder; exit 1 when nobody holds the lock
#
# The lock file holds key=value lines: token, host, pid, since (epoch seconds), command. The
# holder printed is those lines and age=SECONDS since the last heartbeat, on this machine's
# clock (the file's time), so clocks of different laptops never meet. Every change happens
# under flock on ROOT/build.lock.guard and a new lock file is renamed into place whole.
set -euo pipefail

# run inline (bash -c SCRIPT build-lock.bash ...), so $0 names no file to print the header from
usage() {
  echo "usage: build-lock.bash acquire|takeover|refresh|release|show ROOT ..." >&2
  exit 2
}

token_ok() {
  [[ "$1" =~ ^[0-9a-f]{32}$ ]] || { echo "build-lock: bad token '$1'" >&2; exit 2; }
}

# one line of the lock file: no newline may split a field
field_ok() {
  [[ "$2" != *$'\n'* && -n "$2" ]] || { echo "build-lock: bad $1" >&2; exit 2; }
}

# guard ROOT: hold the root's guard for the rest of the script (fd 9)
guard() {
  mkdir -p -- "$1"
  exec 9> "$1/build.lock.guard"
  flock 9
}

holder_token() {
  sed -n 's/^token=//p' "$1" 2> /dev/null | head -n 1
}

print_holder() {
  cat -- "$1"
  echo "age=$(($(date +%s) - $(stat -c %Y -- "$1")))"
}

# write ROOT TOKEN HOST PID COMMAND: the new lock file, renamed into place whole
write_lock() {
  local lock="$1/build.lock" part="$1/build.lock.$2.part"
  printf 'token=%s\nhost=%s\npid=%s\nsince=%s\ncommand=%s\n' "$2" "$3" "$4" "$(date +%s)" "$5" > "$part"
  mv -f -- "$part" "$lock"
}

# take ROOT TOKEN HOST PID COMMAND [EXPECTED]: take the lock when it is free or still EXPECTED's
take() {
  local root=$1 lock="$1/build.lock" current
  token_ok "$2"
  field_ok host "$3"
  [[ "$4" =~ ^[0-9]+$ ]] || { echo "build-lock: bad pid '$4'" >&2; exit 2; }
  field_ok command "$5"
  guard "$root"
  if [ -e "$lock" ]; then
    current=$(holder_token "$lock")
    if [ -z "${6:-}" ] || [ "$current" != "$6" ]; then
      print_holder "$lock"
      exit 3
    fi
  fi
  write_lock "$root" "$2" "$3" "$4" "$5"
}

# ours ROOT TOKEN: whether the lock holds TOKEN
ours() {
  [ -e "$1/build.lock" ] && [ "$(holder_token "$1/build.lock")" = "$2" ]
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
  acquire)
    [ $# -eq 5 ] || usage
    take "$@"
    ;;
  takeover)
    [ $# -eq 6 ] || usage
    token_ok "$2"
    take "$1" "$3" "$4" "$5" "$6" "$2"
    ;;
  refresh | release)
    [ $# -eq 2 ] || usage
    token_ok "$2"
    guard "$1"
    ours "$1" "$2" || exit 4
    if [ "$cmd" = refresh ]; then touch -- "$1/build.lock"; else rm -f -- "$1/build.lock"; fi
    ;;
  show)
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || exit 1
    guard "$1"
    [ -e "$1/build.lock" ] || exit 1
    print_holder "$1/build.lock"
    ;;
  *) usage ;;
esac
