#!/usr/bin/env bash
# base.sh SUITE: make the base image dinv-base:SUITE, a minimal Debian SUITE with
# Debian's Docker engine and CLI, from debootstrap (no registry needed).
# Skips the work when the image exists, unless REBUILD=1.
set -euo pipefail
suite=${1:?usage: base.sh SUITE}
image=dinv-base:$suite
if [ "${REBUILD:-0}" != 1 ] && docker image inspect "$image" >/dev/null 2>&1; then
	echo "base: $image exists"
	exit 0
fi
pkgs=docker.io,iptables,ca-certificates,iproute2
# From trixie on, the docker CLI is a package of its own.
[ "$suite" = bookworm ] || pkgs=$pkgs,docker-cli
root=$(mktemp -d /var/tmp/dinv-base.XXXXXX)
trap 'rm -rf "$root"' EXIT
echo "base: debootstrap $suite"
debootstrap --variant=minbase --include="$pkgs" "$suite" "$root" >"$root.log" 2>&1 ||
	{ tail -20 "$root.log"; exit 1; }
rm -f "$root.log"
version=$(chroot "$root" dpkg-query -W -f '${Version}' docker.io)
# Lean: no package lists, caches, docs, man pages or locales.
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
	"$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/usr/share/info/* \
	"$root"/usr/share/locale/* "$root"/var/log/*.log "$root"/var/log/apt/*
tar -C "$root" -c . | docker import \
	--change "LABEL org.dinv.engine-version=$version org.dinv.suite=$suite" - "$image" >/dev/null
echo "base: $image engine $version"
