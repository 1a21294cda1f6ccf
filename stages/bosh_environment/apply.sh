#!/usr/bin/env bash
# Puts /var/vcap/bosh/bin on the system PATH in /etc/environment (read by pam_env for every session).
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"

env_file=$(target /etc/environment)
default_path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ ! -f "$env_file" ]; then install -o root -g root -m 0644 /dev/null "$env_file"; fi

# The system directories in their usual order, then what else the distribution's PATH has
# (Ubuntu's adds /usr/games, /usr/local/games and /snap/bin; Debian's file has none), then
# /var/vcap/bosh/bin once. Other variables stay as they are; exactly one PATH line remains.
current=$(awk -F= '$1 == "PATH" { v = substr($0, 6) } END { print v }' "$env_file")
current=${current#\"}
current=${current%\"}
new_path=$(printf '%s\n' "$default_path" "$current" | tr ':' '\n' \
  | awk -v bosh="$bosh_bin_dir" 'NF && $0 != bosh && !seen[$0]++' | paste -sd: -)
new_path="$new_path:$bosh_bin_dir"

tmp=$(mktemp "$env_file.XXXXXX")
awk -F= '$1 != "PATH"' "$env_file" > "$tmp"
printf 'PATH="%s"\n' "$new_path" >> "$tmp"
chmod 0644 "$tmp"
chown root:root "$tmp"
mv "$tmp" "$env_file"

[ "$(grep -c '^PATH=' "$env_file")" = 1 ] || fail "/etc/environment must have exactly one PATH line"
log "/etc/environment: PATH=\"$new_path\""
