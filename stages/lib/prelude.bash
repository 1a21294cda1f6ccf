# shellcheck shell=bash
# Shared by every stage script. Source it first:
#   source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
#
# Contract with the runner (src/pipeline/stage-runner.ts):
#   config.sh <build_dir>/settings.bash   checks inputs, may `persist` derived values
#   apply.sh  <build_dir>/work            changes the chroot at <build_dir>/work/chroot
# Both run as root with a clean environment: PATH, LANG, the proxy variables and BUILD_TIME.
# No xtrace: settings hold a password, and logs must never show it.
set -euo pipefail
shopt -s nullglob

stage_dir=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
stage_name=$(basename "$stage_dir")
# shellcheck disable=SC2034 # read by the stage scripts that source the prelude
assets_dir="$stage_dir/assets"
lib_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
stage_script=$(basename "${BASH_SOURCE[1]}")

case "$stage_script" in
  config.sh)
    settings_file=${1:?config.sh needs the settings file as its argument}
    build_dir=$(cd "$(dirname "$settings_file")" && pwd)
    work="$build_dir/work"
    ;;
  apply.sh)
    work=${1:?apply.sh needs the work directory as its argument}
    build_dir=$(cd "$(dirname "$work")" && pwd)
    settings_file="$build_dir/settings.bash"
    ;;
  *)
    echo "prelude.bash: sourced from unexpected script $stage_script" >&2
    exit 1
    ;;
esac

chroot="$work/chroot"
stage_settings_dir="$build_dir/stage-settings"
stage_settings_file="$stage_settings_dir/$stage_name.bash"

# shellcheck source=/dev/null
source "$settings_file"
if [ "$stage_script" = apply.sh ] && [ -f "$stage_settings_file" ]; then
  # shellcheck source=/dev/null
  source "$stage_settings_file"
fi
if [ "$stage_script" = config.sh ]; then
  mkdir -p "$stage_settings_dir"
  : > "$stage_settings_file"
fi

source "$lib_dir/helpers.bash"
source "$lib_dir/chroot.bash"
source "$lib_dir/emulation.bash"

# An image of another architecture: config.sh checks that an emulator is there, apply.sh
# registers it before any of the image's programs runs (every stage, so a resumed build
# on a rebooted machine has it too).
if [ -n "${os_arch:-}" ] && image_is_foreign; then
  if [ "$stage_script" = config.sh ]; then require_image_emulator; else ensure_image_emulation; fi
fi
