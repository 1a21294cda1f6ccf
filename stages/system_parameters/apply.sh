#!/usr/bin/env bash
# Records in /var/vcap/bosh/etc which stemcell this is: infrastructure (vcloud as vsphere), operating system, stemcell version and stemforge's git commit.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"
source "$lib_dir/bosh.bash"
source "$lib_dir/hardening.bash"

ensure_bosh_dirs

# The agent and the jobs read these. vCloud VMs run vSphere's way (CD-ROM settings), so
# they say vsphere, as the reference has it.
infrastructure=$stemcell_infrastructure
if [ "$infrastructure" = vcloud ]; then infrastructure=vsphere; fi
# operating_system: the line's name (ubuntu-jammy, debian-bookworm) where the reference
# writes only "ubuntu": it names the distribution (what older readers look for) and the
# release (what newer agents look for).
# stemcell_git_sha1: stemforge's commit, with + when the checkout had changes.
declare -A values=(
  [infrastructure]=$infrastructure
  [operating_system]=$os_name
  [stemcell_version]=$stemcell_version
  [stemcell_git_sha1]=$stemforge_commit
)
# Without a trailing newline, as the reference writes them.
for name in infrastructure operating_system stemcell_version stemcell_git_sha1; do
  file=$(target "$bosh_etc_dir/$name")
  printf '%s' "${values[$name]}" | install_if_changed 0644 "$file"
  [ "$(cat "$file")" = "${values[$name]}" ] || fail "$bosh_etc_dir/$name does not hold ${values[$name]}"
done
log "$bosh_etc_dir: infrastructure=$infrastructure operating_system=$os_name stemcell_version=$stemcell_version stemcell_git_sha1=$stemforge_commit"
