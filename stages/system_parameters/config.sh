#!/usr/bin/env bash
# Checks the values system_parameters records in the image: infrastructure, OS line, stemcell version and stemforge's commit.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

for key in stemcell_infrastructure os_name stemcell_version stemforge_commit; do
  assert_value "$key"
  [[ ${!key} =~ ^[A-Za-z0-9._+-]+$ ]] || fail "$key '${!key}' has characters other than letters, digits and ._+-"
done
