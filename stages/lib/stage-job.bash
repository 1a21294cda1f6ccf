#!/usr/bin/env bash
# stage-job.bash: run one stage script as a job that outlives the connection that started it.
# The job's log, process group and exit status live in a folder on the build machine, so
# the CLI can follow the log, lose its SSH connection, reconnect and pick up where it was.
#
#   stage-job.bash start  DIR SCRIPT ARG [TAG]  start the job detached; returns at once
#   stage-job.bash follow DIR OFFSET            print the log from byte OFFSET until the job
#                                               ends, then exit with the job's exit status
#   stage-job.bash stop   DIR                   stop the job's whole process group (TERM, then KILL)
#   stage-job.bash list   FOLDER                one line per job folder DIR in FOLDER: NAME STATE
#                                               EXIT TAG, STATE running, finished or lost, EXIT
#                                               and TAG '-' when there is none
#
# DIR holds: log, supervisor.pid, pgid, tag (what the CLI ran it for: a layer key),
# exit-status (written last, atomically; its first line counts). A CLI killed while a job runs leaves the job
# running; the next run finds it with `list` and follows it again, takes its result or stops it.
set -euo pipefail

lost_job=254 # follow's exit code when the job vanished without an exit status

usage() {
  echo "usage: stage-job.bash start DIR SCRIPT ARG [TAG] | follow DIR OFFSET | stop DIR | list FOLDER" >&2
  exit 2
}

# alive PID: the process exists and has not exited. A zombie counts as gone: its exit is
# done, only its reaping is pending, and an orphan's reaper (pid 1) may take seconds.
alive() {
  local stat
  [ -n "${1:-}" ] && stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [ "${stat%% *}" != Z ]
}

# supervise DIR SCRIPT ARG (internal): runs in its own session, detached from the caller.
supervise() {
  local dir=$1 script=$2 arg=$3 child rc
  exec >> "$dir/log" 2>&1 < /dev/null
  # The stage gets a process group of its own, so stop reaches everything it started.
  setsid bash "$script" "$arg" &
  child=$!
  printf '%s\n' "$child" > "$dir/pgid"
  trap 'kill -TERM -- "-$child" 2>/dev/null || true' TERM INT HUP
  rc=0
  while :; do
    wait "$child" && rc=0 || rc=$?
    # a trapped signal interrupts wait with 128+n while the stage still runs: wait again
    alive "$child" || break
  done
  # into the bytes start set aside (no truncation, no new block): a stage that ran the disk
  # full still leaves its exit status; readers take the first line
  printf '%s\n' "$rc" 1<> "$dir/exit-status.part"
  mv -f "$dir/exit-status.part" "$dir/exit-status"
}

start() {
  local dir=$1 script=$2 arg=$3 tag=${4:-}
  [ -f "$script" ] || { echo "stage-job: no stage script at $script" >&2; exit 2; }
  [[ $tag =~ ^[0-9a-z._-]*$ ]] || { echo "stage-job: bad tag '$tag'" >&2; exit 2; }
  rm -rf -- "$dir"
  mkdir -p -- "$dir"
  : > "$dir/log"
  # the exit status's room, taken while there is some (supervise writes into it)
  printf 'pending\n' > "$dir/exit-status.part"
  [ -z "$tag" ] || printf '%s\n' "$tag" > "$dir/tag"
  setsid bash "${BASH_SOURCE[0]}" supervise "$dir" "$script" "$arg" > /dev/null 2>&1 < /dev/null &
  printf '%s\n' "$!" > "$dir/supervisor.pid"
  echo "started"
}

follow() {
  local dir=$1 offset=$2 supervisor rc
  [[ $offset =~ ^[0-9]+$ ]] || usage
  [ -f "$dir/supervisor.pid" ] || { echo "stage-job: no job in $dir" >&2; exit "$lost_job"; }
  supervisor=$(cat "$dir/supervisor.pid")
  if [ ! -f "$dir/exit-status" ] && alive "$supervisor"; then
    # tail stops on its own once the watcher (our own child, so reaped at once, unlike the
    # orphaned supervisor) has exited, after a last read of the log.
    (while [ ! -f "$dir/exit-status" ] && alive "$supervisor"; do sleep 0.05; done) &
    tail -c "+$((offset + 1))" -s 0.1 --pid="$!" -f "$dir/log"
  else
    tail -c "+$((offset + 1))" "$dir/log"
  fi
  if [ -f "$dir/exit-status" ]; then
    read -r rc < "$dir/exit-status"
    exit "$rc"
  fi
  echo "stage-job: the job in $dir ended without an exit status (killed?)" >&2
  exit "$lost_job"
}

# group_alive PGID: some process of the group is still running (zombies do not count).
group_alive() {
  local pgid=$1 file stat fields
  for file in /proc/[0-9]*/stat; do
    { read -r stat < "$file"; } 2>/dev/null || continue
    # after the command name: state ppid pgrp ...
    read -r -a fields <<< "${stat##*) }"
    if [ "${fields[0]}" != Z ] && [ "${fields[2]}" = "$pgid" ]; then return 0; fi
  done
  return 1
}

stop() {
  local dir=$1 pgid supervisor
  pgid=$(cat "$dir/pgid" 2>/dev/null || true)
  supervisor=$(cat "$dir/supervisor.pid" 2>/dev/null || true)
  [ -n "$pgid" ] || { echo "stage-job: nothing to stop in $dir"; return 0; }
  echo "stage-job: stopping $(basename "$dir") (process group $pgid)" >> "$dir/log"
  kill -TERM -- "-$pgid" 2>/dev/null || true
  for _ in $(seq 1 50); do
    group_alive "$pgid" || break
    sleep 0.2
  done
  kill -KILL -- "-$pgid" 2>/dev/null || true
  # the supervisor records the exit status once its child is gone
  for _ in $(seq 1 25); do
    alive "$supervisor" || break
    sleep 0.2
  done
  echo "stopped"
}

# list FOLDER: each job's name (the stage and step), state, exit status and tag. Builtins
# only (read, not cat): a build folder holds a job per stage and every run lists them.
list() {
  local dir name state rc tag pid
  [ -d "$1" ] || return 0
  for dir in "$1"/*/; do
    dir=${dir%/}
    [ -f "$dir/supervisor.pid" ] || continue
    name=${dir##*/}
    rc=- tag=- pid=
    [ ! -s "$dir/tag" ] || read -r tag < "$dir/tag"
    if [ -f "$dir/exit-status" ]; then
      state=finished
      read -r rc < "$dir/exit-status" || rc=-
    else
      read -r pid < "$dir/supervisor.pid" || true
      if alive "$pid"; then state=running; else state=lost; fi
    fi
    printf '%s %s %s %s\n' "$name" "$state" "$rc" "$tag"
  done
}

[ $# -ge 1 ] || usage
command=$1
shift
case "$command" in
  list) [ $# -eq 1 ] || usage; list "$@" ;;
  start) [ $# -eq 3 ] || [ $# -eq 4 ] || usage; start "$@" ;;
  follow) [ $# -eq 2 ] || usage; follow "$@" ;;
  stop) [ $# -eq 1 ] || usage; stop "$@" ;;
  supervise) [ $# -eq 3 ] || usage; supervise "$@" ;;
  *) usage ;;
esac
