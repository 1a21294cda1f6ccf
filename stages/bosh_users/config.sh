#!/usr/bin/env bash
# Checks that a password for root and vcap is set before any stage runs.
source "$(dirname "${BASH_SOURCE[0]}")/../lib/prelude.bash"

assert_value bosh_users_password
case "$bosh_users_password" in
  *:* | *$'\n'*) fail "bosh_users_password must not contain ':' or a newline" ;;
esac
