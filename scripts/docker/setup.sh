#!/usr/bin/env bash
# Install podman, buildah, runc and debootstrap from Debian and write the storage and
# runtime settings this sandbox needs (vfs storage; runc with no default rlimits, since
# crun fails on the cgroup setup here and runc fails to set rlimits otherwise).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

PACKAGES=(buildah podman runc debootstrap)

missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  [[ $EUID -eq 0 ]] || die "installing ${missing[*]} needs root (apt-get)"
  say "installing ${missing[*]} from Debian ..."
  apt-get update -q >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}" >/dev/null
fi

mkdir -p "$PRICES_DOCKER_HOME/storage" "$PRICES_DOCKER_HOME/run"
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "vfs"
runroot = "$PRICES_DOCKER_HOME/run/storage"
graphroot = "$PRICES_DOCKER_HOME/storage"
CONF
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
