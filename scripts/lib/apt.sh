# Sourced by the scripts: install Debian packages that are missing, without
# letting their maintainer scripts start services (there is no service
# manager here: a package's init script would start a daemon of its own,
# e.g. prometheus on :9090 or dockerd, that nothing stops).
apt_install_missing() {
  local missing=() p
  for p in "$@"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -gt 0 ] || return 0
  echo "bpfgate: installing Debian packages: ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  local rc=/usr/sbin/policy-rc.d ours=0
  if [ ! -e "$rc" ]; then
    printf '#!/bin/sh\nexit 101\n' >"$rc" && chmod +x "$rc" && ours=1
  fi
  local status=0
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
    status=$?
  [ "$ours" = 0 ] || rm -f "$rc"
  return "$status"
}
