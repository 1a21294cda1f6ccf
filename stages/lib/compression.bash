# shellcheck shell=bash
# The one choice of gzip program for the tars the build machine packs and unpacks. Source it:
#   source "$lib_dir/compression.bash"            (after the prelude, or from a library file)
#   source "$(dirname "${BASH_SOURCE[0]}")/compression.bash"   (a program in lib/)
#   bash -c 'source "$1"; …' _ …/stages/lib/compression.bash   (the runner's own commands)

# gzip_program: pigz (on every core) when the build machine has it, else gzip.
gzip_program() {
  if command -v pigz > /dev/null 2>&1; then echo pigz; else echo gzip; fi
}
