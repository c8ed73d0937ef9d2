#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Install podman, buildah, runc and debootstrap from Debian and write the storage and
# runtime settings this sandbox needs: runc with no default rlimits (crun fails on the
# cgroup setup here, and runc fails to set rlimits otherwise), and the overlay storage
# driver where the kernel mounts overlayfs, else vfs (which stores every layer as a full
# copy: tens of GB for these images).
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

overlay_mounts() {
  local probe status=1
  probe="$(mktemp -d)"
  mkdir "$probe"/{lower,upper,work,merged}
  if mount -t overlay overlay -o "lowerdir=$probe/lower,upperdir=$probe/upper,workdir=$probe/work" \
    "$probe/merged" 2>/dev/null; then
    umount "$probe/merged"
    status=0
  fi
  rm -rf "$probe"
  return "$status"
}
driver=vfs
overlay_mounts && driver=overlay

# One storage folder per driver: a storage made with one driver cannot be opened with another.
mkdir -p "$PRICES_DOCKER_HOME/storage-$driver" "$PRICES_DOCKER_HOME/run"
cat >"$CONTAINERS_STORAGE_CONF" <<CONF
[storage]
driver = "$driver"
runroot = "$PRICES_DOCKER_HOME/run/storage-$driver"
graphroot = "$PRICES_DOCKER_HOME/storage-$driver"
CONF
cat >"$CONTAINERS_CONF" <<CONF
[containers]
default_ulimits = []

[engine]
runtime = "runc"
CONF
