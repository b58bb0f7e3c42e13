#!/usr/bin/env bash
# build.sh: every DinV image on the Docker engine at hand (`make images`).
#   dinv:<major.minor>  one per engine version, from the bases of SUITES
#   dinv:<major.minor>-rootless  the same with the rootless engine, where the
#                       base has rootlesskit (trixie, sid)
#   dinv:29, dinv:29-rootless  Docker 29 on the sid base: dockerd and
#                       docker-proxy built from moby's Go module
#                       (images/engine29/build.sh, cached; ENGINE29=0 skips)
#   dinv:latest         the newest engine
#   dinv-test-busybox   a tiny image for tests (Debian's busybox-static)
#   dinv-test-registry  the distribution registry (Debian's docker-registry)
# Bases and test images are made only when missing, or all again with REBUILD=1;
# the DinV images are rebuilt from the build cache (fast when nothing changed).
set -euo pipefail
cd "$(dirname "$0")/.."
SUITES=${SUITES:-bookworm trixie sid}
export BASE_REPO=${BASE_REPO:-dinv-base}
IMAGE_REPO=${IMAGE_REPO:-dinv}

echo "images: bin/dinv"
CGO_ENABLED=0 go build -trimpath -ldflags=-s -o bin/dinv ./cmd/dinv

for suite in $SUITES; do
	images/base.sh "$suite"
done

revision=$(git describe --always --dirty 2>/dev/null || echo dev)
newest=
# bin/engine: the engine dinv:29 gets in place of its base's (the
# Dockerfile copies it), empty while every other image is built.
rm -rf bin/engine
mkdir -p bin/engine

# build_image TAG BASE VERSION VARIANT
build_image() {
	# (The output is shown only on failure: the legacy builder's deprecation
	# notice would otherwise drown the rest.)
	if ! out=$(docker build --build-arg BASE="$2" --build-arg ENGINE_VERSION="$3" \
		--build-arg VARIANT="$4" --build-arg DINV_VERSION="$revision" -t "$1" . 2>&1); then
		echo "$out" >&2
		exit 1
	fi
	echo "images: $1 engine $3 from $2 ($(docker image inspect -f '{{.Size}}' "$1" | awk '{printf "%.0f MB", $1/1e6}'))"
}

# newer VERSION TAG: remember the newest engine's tag for :latest.
newer() {
	if [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$newest" "$1" | sort -V | tail -1)" = "$1" ]; then
		newest=$1
		latest=$2
	fi
}

for suite in $SUITES; do
	base=$BASE_REPO:$suite
	version=$(docker image inspect -f '{{index .Config.Labels "org.dinv.engine-version"}}' "$base")
	version=${version#*:}
	version=${version%%[+~-]*}
	case $version in
	[0-9]*.[0-9]*) ;;
	*) echo "images: $base has no engine version label (REBUILD=1 images/base.sh $suite)" >&2; exit 1 ;;
	esac
	tag=$IMAGE_REPO:$(echo "$version" | cut -d. -f1,2)
	variants=("")
	case ",$(docker image inspect -f '{{index .Config.Labels "org.dinv.packages"}}' "$base")," in
	*,rootlesskit,*) variants+=(rootless) ;;
	esac
	for variant in "${variants[@]}"; do
		build_image "$tag${variant:+-$variant}" "$base" "$version" "$variant"
	done
	newer "$version" "$tag"
done

# dinv:29 and dinv:29-rootless: the sid base (Debian's containerd 2.x, runc,
# tini, CLI, compose, buildx, rootlesskit) with Docker 29's engine, built on
# the host from moby's Go module (about 4 minutes the first time, then
# cached). Tagged by its major: the module follows Docker 29's releases.
if [[ " $SUITES " == *" sid "* ]] && [ "${ENGINE29:-1}" != 0 ]; then
	dir=$(images/engine29/build.sh)
	version=$(cat "$dir/VERSION")
	cp -l "$dir/dockerd" "$dir/docker-proxy" bin/engine/ 2>/dev/null ||
		cp "$dir/dockerd" "$dir/docker-proxy" bin/engine/
	tag=$IMAGE_REPO:${version%%.*}
	build_image "$tag" "$BASE_REPO:sid" "$version" ""
	build_image "$tag-rootless" "$BASE_REPO:sid" "$version" rootless
	rm -f bin/engine/*
	newer "$version" "$tag"
fi
docker tag "$latest" "$IMAGE_REPO:latest"
echo "images: $IMAGE_REPO:latest = $latest"

images/testimages.sh
