#!/usr/bin/env bash
# Would install mdproxy4cs (the agent's metadata proxy on CloudStack); fails, as config.sh does, since no source for it exists.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

fail "mdproxy4cs is missing (see config.sh): a CloudStack stemcell cannot be built without it"
