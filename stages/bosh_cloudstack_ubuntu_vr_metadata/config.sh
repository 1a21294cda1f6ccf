#!/usr/bin/env bash
# Stops a CloudStack build early: the metadata proxy mdproxy4cs the agent needs has no source stemforge can use.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

# The agent on CloudStack reads its settings from http://169.254.169.254:39724, where
# mdproxy4cs (orange-cloudfoundry/mdproxy4cs) answers for the virtual router's metadata
# service. The reference downloads its release tarball from GitHub inside the chroot; no
# distribution packages it, and stemforge downloads nothing it cannot pin and check. Until
# a build can hand in a local copy, a CloudStack stemcell cannot be built.
fail "mdproxy4cs is missing: CloudStack stemcells need it (the agent's settings come through it at 169.254.169.254:39724); no distribution packages it and stemforge has no setting yet to supply a local release tarball (linux-amd64, with its sha256) for it"
