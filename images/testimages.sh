#!/usr/bin/env bash
# testimages.sh: the images the end-to-end tests and the demo load into DinV
# hosts, made from Debian packages on the host (nothing can be pulled):
#   dinv-test-busybox   busybox-static with its applets linked in /bin
#   dinv-test-registry  the distribution registry (docker-registry): the binary,
#                       the libraries ldd names, a config without auth, port 5000
# Each is made only when missing, unless REBUILD=1.
set -euo pipefail
need() { [ "${REBUILD:-0}" = 1 ] || ! docker image inspect "$1" >/dev/null 2>&1; }
dir=$(mktemp -d /var/tmp/dinv-testimage.XXXXXX)
trap 'rm -rf "$dir"' EXIT

if need dinv-test-busybox; then
	bb=$(command -v busybox)
	if ldd "$bb" >/dev/null 2>&1; then
		echo "images: $bb is linked dynamically: install busybox-static" >&2
		exit 1
	fi
	mkdir -p "$dir/bb/bin" "$dir/bb/tmp" "$dir/bb/www" "$dir/bb/etc"
	cp "$bb" "$dir/bb/bin/busybox"
	for applet in $("$bb" --list); do
		[ "$applet" = busybox ] || ln -s busybox "$dir/bb/bin/$applet"
	done
	echo 'root:x:0:0:root:/root:/bin/sh' >"$dir/bb/etc/passwd"
	echo 'root:x:0:' >"$dir/bb/etc/group"
	tar -C "$dir/bb" -c . | docker import --change 'ENV PATH=/bin' --change 'CMD ["sh"]' \
		- dinv-test-busybox >/dev/null
	echo "images: dinv-test-busybox"
fi

if need dinv-test-registry; then
	reg=$(command -v docker-registry)
	r=$dir/reg
	mkdir -p "$r/usr/bin" "$r/etc/docker/registry" "$r/var/lib/registry" "$r/tmp"
	cp "$reg" "$r/usr/bin/docker-registry"
	# The libraries it links (today only the C library and the loader).
	for lib in $(ldd "$reg" | grep -o '/[^ ]*'); do
		mkdir -p "$r$(dirname "$lib")"
		cp -L "$lib" "$r$lib"
	done
	cat >"$r/etc/docker/registry/config.yml" <<'YAML'
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: /var/lib/registry
  delete:
    enabled: true
http:
  addr: :5000
YAML
	tar -C "$r" -c . | docker import --change 'EXPOSE 5000' \
		--change 'ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]' \
		- dinv-test-registry >/dev/null
	echo "images: dinv-test-registry"
fi
