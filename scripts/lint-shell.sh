#!/usr/bin/env bash
# Runs shellcheck over every shell script in stages/, templates/, scripts/, test/ and .ci/: the files
# named *.sh or *.bash, and files of any other name whose first line is a sh or bash shebang
# (the stages' assets, .ci/run). Settings: .shellcheckrc, and stages/.shellcheckrc for the stages.
#   scripts/lint-shell.sh [SHELLCHECK_OPTION...]    e.g. -f tty for findings with their source line
# Exits non-zero on any finding. npm run lint runs it.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v shellcheck > /dev/null; then
  echo "lint-shell: shellcheck is not installed (scripts/install-build-deps.sh installs it)" >&2
  exit 1
fi

shebang='^#![[:space:]]*(/usr/bin/env[[:space:]]+)?(/usr)?(/bin/)?(ba|da)?sh([[:space:]]|$)'
files=()
while IFS= read -r -d '' f; do
  case "$f" in
    *.sh | *.bash) files+=("$f") ;;
    *)
      first=
      IFS= read -r first < "$f" || true # a one-line file without a newline still fills $first
      if [[ $first =~ $shebang ]]; then files+=("$f"); fi
      ;;
  esac
done < <(find stages templates scripts test .ci -type f -print0 | sort -z)

if [ ${#files[@]} -eq 0 ]; then
  echo "lint-shell: no shell scripts found" >&2
  exit 1
fi
# -x follows `source`; one shellcheck per CPU, 16 files at a time; gcc format keeps the
# findings of parallel runs one line each
printf '%s\0' "${files[@]}" | xargs -0 -n 16 -P "$(nproc)" shellcheck -x -f gcc "$@"
echo "lint-shell: ${#files[@]} files, no findings"
