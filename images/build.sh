#!/usr/bin/env bash
# build.sh: every DinV image on the Docker engine at hand (`make images`).
#   dinv:<major.minor>  one per engine version, from the bases of SUITES
#   dinv:<major.minor>-rootless  the same with the rootless engine, where the
#                       base has rootlesskit (trixie, sid)
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
		t=$tag${variant:+-$variant}
		# (The output is shown only on failure: the legacy builder's deprecation
		# notice would otherwise drown the rest.)
		if ! out=$(docker build --build-arg BASE="$base" --build-arg ENGINE_VERSION="$version" \
			--build-arg VARIANT="$variant" --build-arg DINV_VERSION="$revision" -t "$t" . 2>&1); then
			echo "$out" >&2
			exit 1
		fi
		echo "images: $t engine $version from $base ($(docker image inspect -f '{{.Size}}' "$t" | awk '{printf "%.0f MB", $1/1e6}'))"
	done
	if [ -z "$newest" ] || [ "$(printf '%s\n%s\n' "$newest" "$version" | sort -V | tail -1)" = "$version" ]; then
		newest=$version
		latest=$tag
	fi
done
docker tag "$latest" "$IMAGE_REPO:latest"
echo "images: $IMAGE_REPO:latest = $latest"

images/testimages.sh
