#!/usr/bin/env bash
# shellcheck source-path=SCRIPTDIR
# Make docker.io/library/debian:SUITE-slim locally (no image registry is reachable here):
# a debootstrap minbase of SUITE with the same slimming and apt sources as the official
# image, plus this machine's CA certificates so HTTPS downloads inside builds are trusted.
#
#   scripts/docker/base-image.sh [--force] SUITE     (bookworm for the project's images,
#                                                     trixie for the test stand-in)
# Skipped when the image already exists; --force rebuilds it.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/env.sh"

force=false
[[ "${1:-}" == "--force" ]] && { force=true; shift; }
suite="${1:?usage: base-image.sh [--force] SUITE}"
image="docker.io/library/debian:$suite-slim"

if ! $force && podman image exists "$image"; then
  say "$image already built"
  exit 0
fi

work="$(mktemp -d)"
container=""
cleanup() {
  [[ -n "$container" ]] && buildah rm "$container" >/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

say "debootstrap $suite (minbase) ..."
debootstrap --variant=minbase "$suite" "$work/rootfs" http://deb.debian.org/debian \
  >"$work/debootstrap.log" 2>&1 || { tail -n 20 "$work/debootstrap.log" >&2; die "debootstrap failed"; }

# What the official slim image does (debuerreotype's slimify and its deb822 sources).
cat >"$work/rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/groff/*
path-exclude /usr/share/info/*
path-exclude /usr/share/linda/*
path-exclude /usr/share/lintian/overrides/*
path-exclude /usr/share/locale/*
path-exclude /usr/share/man/*
CONF
find "$work/rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
rm -rf "$work/rootfs"/usr/share/{groff,info,linda,lintian/overrides,locale,man}/*
rm -f "$work/rootfs/etc/apt/sources.list"
cat >"$work/rootfs/etc/apt/sources.list.d/debian.sources" <<CONF
Types: deb
URIs: http://deb.debian.org/debian
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
CONF
rm -rf "$work/rootfs"/var/lib/apt/lists/* "$work/rootfs"/var/cache/apt/archives/*.deb

# The stand-in's only addition: trust the same CAs as this machine.
shopt -s nullglob
host_cas=(/usr/local/share/ca-certificates/*.crt)
mkdir -p "$work/rootfs/usr/local/share/ca-certificates"
((${#host_cas[@]} == 0)) || cp "${host_cas[@]}" "$work/rootfs/usr/local/share/ca-certificates/"

container="$(buildah from scratch)"
mnt="$(buildah mount "$container")"
cp -a "$work/rootfs/." "$mnt/"
buildah umount "$container" >/dev/null

buildah run --isolation chroot "$container" -- sh -c \
  'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends ca-certificates && rm -rf /var/lib/apt/lists/*' \
  >"$work/trust.log" 2>&1 || { tail -n 20 "$work/trust.log" >&2; die "installing the CA certificates failed"; }

bundle=/etc/ssl/certs/ca-certificates.crt
buildah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env PIP_CERT="$bundle" --env REQUESTS_CA_BUNDLE="$bundle" --env SSL_CERT_FILE="$bundle" \
  --cmd bash "$container"
buildah commit --quiet "$container" "$image" >/dev/null
say "built $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
