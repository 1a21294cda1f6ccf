# shellcheck shell=bash
# Pinned downloads on the build machine: a URL with its sha256, kept by digest so a file is
# fetched once for every build of a build root. Shared by the OS-image phase (bosh_monit's
# monit source) and the stemcell phase (the agent, the blobstore CLIs). Source it after the
# prelude:
#   source "$lib_dir/downloads.bash"

# sha256_of FILE: the file's sha256 in lowercase hex.
sha256_of() {
  sha256sum -- "$1" | cut -d' ' -f1
}

# assert_sha256 SHA: fail unless SHA is 64 lowercase hex digits.
assert_sha256() {
  [[ $1 =~ ^[0-9a-f]{64}$ ]] || fail "'$1' is not a sha256 (64 lowercase hex digits)"
}

# download_dir: where pinned downloads are kept on the build machine, named by
# their sha256, so several stemcells of a run (and later runs) download each file once:
# <build root>/downloads for a build dir <build root>/builds/<name>, else <build dir>/downloads.
download_dir() {
  local parent
  parent=$(dirname "$build_dir")
  if [ "$(basename "$parent")" = builds ]; then
    printf '%s/downloads\n' "$(dirname "$parent")"
  else
    printf '%s/downloads\n' "$build_dir"
  fi
}

# fetch_pinned NAME URL SHA256 HINT: print the path of a file on the build machine whose
# sha256 is SHA256, downloading URL (5 tries) into the download cache when it is not there
# yet. Fails the stage when URL cannot be fetched (saying HINT, what the user can do) or
# when what arrives has another digest. Progress goes to stderr: stdout is the path only.
# Call it as path=$(fetch_pinned ...): a failure then stops the calling stage too.
fetch_pinned() {
  local name=$1 url=$2 sha=$3 hint=$4 dir file tmp try err got
  assert_sha256 "$sha"
  dir=$(download_dir)
  mkdir -p "$dir"
  file="$dir/$name-$sha"
  if [ -f "$file" ] && [ "$(sha256_of "$file")" = "$sha" ]; then
    log "$name: using the cached download $file" >&2
    printf '%s\n' "$file"
    return 0
  fi
  rm -f "$file"
  tmp=$(mktemp "$file.part.XXXXXX")
  for try in 1 2 3 4 5; do
    if err=$(curl --fail --silent --show-error --location --connect-timeout 20 --max-time 900 \
      --output "$tmp" -- "$url" 2>&1); then
      break
    fi
    log "$name: download failed (try $try of 5): $err" >&2
    if [ "$try" = 5 ]; then
      rm -f "$tmp"
      fail "cannot download $name from $url (5 tries, see above). $hint"
    fi
    sleep $((try * 2))
  done
  got=$(sha256_of "$tmp")
  if [ "$got" != "$sha" ]; then
    rm -f "$tmp"
    fail "$name from $url has sha256 $got, expected $sha: refusing it"
  fi
  chmod 0644 "$tmp"
  mv -f "$tmp" "$file"
  log "$name: downloaded and verified (sha256 $sha)" >&2
  printf '%s\n' "$file"
}

# pinned_input NAME FILE URL SHA256 HINT: from config.sh, print the build machine's path of an
# input that is either FILE (sent by stemforge, checked against SHA256) or URL (downloaded
# with fetch_pinned, saying HINT when it cannot be). Fails when neither is set.
pinned_input() {
  local name=$1 file=$2 url=$3 sha=$4 hint=$5 got
  assert_sha256 "$sha"
  if [ -n "$file" ]; then
    [ -f "$file" ] || fail "$name: $file is missing on the build machine"
    got=$(sha256_of "$file")
    [ "$got" = "$sha" ] || fail "$name: $file has sha256 $got, expected $sha"
    log "$name: $file (sha256 $sha)" >&2
    printf '%s\n' "$file"
  elif [ -n "$url" ]; then
    assert_available curl
    fetch_pinned "$name" "$url" "$sha" "$hint"
  else
    fail "$name: neither a file nor a URL is set"
  fi
}
