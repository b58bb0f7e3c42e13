#!/usr/bin/env bash
# base.sh SUITE: make the base image dinv-base:SUITE, a minimal Debian SUITE with
# Debian's Docker engine and CLI, from debootstrap (no registry needed).
# Skips the work when the image exists, unless REBUILD=1. BASE_REPO (default
# dinv-base) names the repository, for a base of one's own beside the shared ones.
# Labels: org.dinv.engine-version (upstream, e.g. 26.1.5), org.dinv.engine-package
# (Debian's version of docker.io), org.dinv.suite and org.dinv.packages.
set -euo pipefail
suite=${1:?usage: base.sh SUITE}
image=${BASE_REPO:-dinv-base}:$suite
# Besides the engine: what the engine itself executes. procps: ps, which
# `docker top` runs (without it: exec: "ps": executable file not found);
# xz-utils: xz, with which the engine unpacks an xz-compressed image
# (`docker load -i image.tar.xz`, `docker import`); pigz: unpigz, which the
# engine prefers to Go's gzip for layers (faster; it falls back without).
# Not git (about 90 MB with perl: only for `docker build` of a git URL) nor
# kmod (modprobe cannot load a module in a container; the engine goes on).
pkgs=docker.io,iptables,ca-certificates,iproute2,procps,xz-utils,pigz
# From trixie on, the docker CLI is a package of its own, and the compose v2
# and buildx CLI plugins are packaged (bookworm has only the old Python
# docker-compose 1.29 and no buildx: its image has neither). The rootless
# engine's tools come with them (the dinv:<version>-rootless images):
# rootlesskit 2.x (bookworm's is 1.x) and slirp4netns for its network,
# uidmap for newuidmap/newgidmap (about 15 MB in all).
[ "$suite" = bookworm ] || pkgs=$pkgs,docker-cli,docker-compose,docker-buildx,rootlesskit,slirp4netns,uidmap
# sid is also dinv:29's base (images/engine29): Docker 29's nftables firewall
# backend (firewall-backend=nftables) runs the nft program, without which
# that engine does not start ("failed to find nft tool").
[ "$suite" != sid ] || pkgs=$pkgs,nftables
# A base made with another package list is made again.
if [ "${REBUILD:-0}" != 1 ] &&
	[ "$(docker image inspect -f '{{index .Config.Labels "org.dinv.packages"}}' "$image" 2>/dev/null)" = "$pkgs" ]; then
	echo "base: $image exists"
	exit 0
fi
command -v debootstrap >/dev/null || { echo "base: debootstrap missing (run scripts/engine.sh)" >&2; exit 1; }
start=$(date +%s)
root=$(mktemp -d /var/tmp/dinv-base.XXXXXX)
trap 'rm -rf --one-file-system "$root" "$root.log"' EXIT
echo "base: debootstrap $suite"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" >"$root.log" 2>&1 ||
	{ tail -20 "$root.log"; exit 1; }
package=$(chroot "$root" dpkg-query -W -f '${Version}' docker.io)
# 26.1.5+dfsg1-9+b9 -> 26.1.5 (no epoch, no Debian suffixes).
version=${package#*:}
version=${version%%[+~-]*}
# Lean: no package lists, caches, docs, man pages or locales; no containerd v1
# shims (engines from 20.10 on run io.containerd.runc.v2).
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
	"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/log/apt/* \
	"$root"/usr/bin/containerd-shim "$root"/usr/bin/containerd-shim-runc-v1
tar -C "$root" -c . | docker import \
	--change "LABEL org.dinv.engine-version=$version org.dinv.engine-package=$package org.dinv.suite=$suite org.dinv.packages=$pkgs" \
	- "$image" >/dev/null
echo "base: $image engine $version ($package) in $(($(date +%s) - start)) s"
