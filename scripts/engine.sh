#!/usr/bin/env bash
# engine.sh: make sure a Docker engine answers on the default socket. Installs
# Debian's engine and the tools the tests use when missing, then starts dockerd
# in the background (there is no systemd) with its log in /var/log/dockerd.log.
set -euo pipefail
need=()
for pair in dockerd:docker.io iptables:iptables debootstrap:debootstrap \
	docker-registry:docker-registry jq:jq openssl:openssl curl:curl ip:iproute2 \
	strace:strace; do
	command -v "${pair%%:*}" >/dev/null 2>&1 || need+=("${pair#*:}")
done
# The test image needs the static busybox; Debian's default busybox is dynamic.
dpkg-query -W -f '${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' || need+=(busybox-static)
if [ ${#need[@]} -gt 0 ]; then
	echo "engine: installing ${need[*]}"
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
# gVisor's runtime, built from gVisor's Go module (cached after the first
# build) and registered as "runsc" (scripts/runsc.sh): before the engine
# starts, so that a new engine reads it; a running one reloads.
"$(dirname "$0")/runsc.sh" || echo "engine: gVisor's runtime is not set up; the tests under it will say why" >&2
if docker version >/dev/null 2>&1; then
	exit 0
fi
echo "engine: starting dockerd (log: /var/log/dockerd.log)"
nohup dockerd >>/var/log/dockerd.log 2>&1 </dev/null &
for _ in $(seq 1 300); do
	docker version >/dev/null 2>&1 && exit 0
	sleep 0.1
done
echo "engine: dockerd did not answer within 30 s; its log:" >&2
tail -20 /var/log/dockerd.log >&2
exit 1
