#!/usr/bin/env bash
# engine29/build.sh: dockerd and docker-proxy of the dinv:29 images, built
# with the Go toolchain on the host from moby's own Go module
# (github.com/moby/moby/v2) at the version go.mod beside this pins; go.sum
# checksums the module and everything it needs, and the Go module proxy is
# the only download. Static (CGO_ENABLED=0), without the two drivers that
# need cgo (btrfs, disk quota), as moby's "library" build is.
#
# Prints the directory that holds the two programs and a file VERSION (the
# version they report). The build is cached there, keyed by go.mod, go.sum,
# this script and the Go version: a rebuild without a change takes no time.
# ENGINE29_CACHE (default /var/cache/dinv/engine29) is kept across clones,
# so a fresh clone on the same machine does not build again; the Go build
# cache also helps when only this script changes.
#
# The version: moby's module is versioned apart from the Docker releases
# (v2.0.0-beta.N); its releases/versions.yaml names the last Docker release
# its branch contains and the next one. A module tagged after release L is
# not L; it is on its way to the next release N: the programs report
# "N-dev" (semver: before N, after L), with the module's version as the
# commit, and the module's date as the build time (reproducible).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cd "$here"
cache=${ENGINE29_CACHE:-/var/cache/dinv/engine29}
key=$(cat go.mod go.sum build.sh <(go env GOVERSION) | sha256sum | cut -c1-16)
out=$cache/$key
if [ -x "$out/dockerd" ] && [ -x "$out/docker-proxy" ] && [ -s "$out/VERSION" ]; then
	echo "engine29: cached in $out ($(cat "$out/VERSION"))" >&2
	echo "$out"
	exit 0
fi

mod=github.com/moby/moby/v2
# The module's own files: its directory, version and date.
go mod download "$mod"
read -r dir modversion modtime < <(go list -m -f '{{.Dir}} {{.Version}} {{.Time.UTC.Format "2006-01-02T15:04:05Z"}}' "$mod")
yaml=$dir/releases/versions.yaml
last=$(sed -n 's/^[[:space:]]*last:[[:space:]]*"\{0,1\}\([0-9][0-9.]*\)"\{0,1\}[[:space:]]*$/\1/p' "$yaml")
next=$(sed -n 's/^[[:space:]]*next:[[:space:]]*"\{0,1\}\([0-9][0-9.]*\)"\{0,1\}[[:space:]]*$/\1/p' "$yaml")
[ -n "$last" ] && [ -n "$next" ] || { echo "engine29: no last/next Docker release in $yaml" >&2; exit 1; }
version=$next-dev
echo "engine29: building dockerd $version from $mod $modversion (after Docker $last; about 4 minutes on 2 cores)" >&2

start=$(date +%s)
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.build.XXXXXX")
chmod 0755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
pkg=$mod/dockerversion
# nice: the machine is shared; the build takes every core it is given.
CGO_ENABLED=0 nice -n 10 go build -trimpath \
	-tags 'exclude_graphdriver_btrfs exclude_disk_quota' \
	-ldflags "-s -w -X $pkg.Version=$version -X $pkg.GitCommit=$modversion -X $pkg.BuildTime=$modtime" \
	-o "$tmp/" "$mod/cmd/dockerd" "$mod/cmd/docker-proxy"
reported=$("$tmp/dockerd" --version)
case $reported in
"Docker version $version, build $modversion") ;;
*) echo "engine29: the built dockerd reports \"$reported\", not $version" >&2; exit 1 ;;
esac
printf '%s\n' "$version" >"$tmp/VERSION"
printf 'module=%s@%s\nlast=%s\nnext=%s\n' "$mod" "$modversion" "$last" "$next" >"$tmp/SOURCE"
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
echo "engine29: $reported in $(($(date +%s) - start)) s, cached in $out" >&2
echo "$out"
