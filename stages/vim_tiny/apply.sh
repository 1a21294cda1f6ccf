#!/usr/bin/env bash
# Installs vim-tiny with its runtime files and makes `vim` run vim.tiny.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

pkg_install vim-tiny vim-runtime
drop_apt_lists
assert_no_chroot_processes
# update-alternatives keeps dpkg in charge of the link: a later vim package can take over
# with a higher priority instead of fighting a hand-made symlink.
run_in_chroot 'update-alternatives --install /usr/bin/vim vim /usr/bin/vim.tiny 10 && update-alternatives --set vim /usr/bin/vim.tiny'
[ "$(chroot "$chroot" readlink -f /usr/bin/vim)" = /usr/bin/vim.tiny ] || fail "/usr/bin/vim does not resolve to vim.tiny"
log "vim -> $(chroot "$chroot" readlink -f /usr/bin/vim)"
