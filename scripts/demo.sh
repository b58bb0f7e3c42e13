#!/usr/bin/env bash
# demo.sh (`make demo`): the quickstart for real. Starts the DinV
# container dinv-demo (`docker run -p 12375:2375 -d dinv`, with the privileges
# this machine's engine grants), waits until its engine answers, shows
# `docker info` of it, loads a tiny image into it and runs a container inside.
# The demo stays running; running this again replaces it. PORT changes 12375,
# IMAGE changes dinv (e.g. IMAGE=dinv:20.10).
set -euo pipefail
cd "$(dirname "$0")/.."
name=dinv-demo
port=${PORT:-12375}
image=${IMAGE:-dinv}
busybox=dinv-test-busybox
if [ -t 1 ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi

scripts/engine.sh
if ! docker image inspect "$image" "$busybox" >/dev/null 2>&1; then
	images/build.sh
fi

probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
opts=$(go run ./test/harness/cmd/privileges "$image" 2>"$probe") || { cat "$probe" >&2; exit 1; }
mapfile -t priv <<<"$opts"
if [ "${priv[0]}" != --privileged ]; then
	say "this engine refuses --privileged: using the explicit equivalent"
	printf '    %s\n' "${priv[*]}"
fi

docker rm -f -v "$name" >/dev/null 2>&1 || true
say "docker run -p $port:2375 -d $image"
docker run -p "$port:2375" -d --name "$name" "${priv[@]}" "$image" >/dev/null
start=$(date +%s%N)
until curl -fsS -o /dev/null --max-time 1 "http://127.0.0.1:$port/_ping" 2>/dev/null; do
	if [ "$(docker inspect -f '{{.State.Running}}' "$name")" != true ] ||
		[ $(($(date +%s%N) - start)) -gt 90000000000 ]; then
		echo "demo: $name did not become ready; its log:" >&2
		docker logs "$name" 2>&1 | tail -30 >&2
		exit 1
	fi
	sleep 0.02
done
printf 'ready after %d ms\n' $((($(date +%s%N) - start) / 1000000))

say "docker -H 127.0.0.1:$port info"
docker -H "127.0.0.1:$port" info

say "docker save $busybox | docker -H 127.0.0.1:$port load"
docker save "$busybox" | docker -H "127.0.0.1:$port" load

say "docker -H 127.0.0.1:$port run --rm $busybox ..."
docker -H "127.0.0.1:$port" run --rm "$busybox" \
	sh -c 'echo "hello from container $(hostname), inside the DinV host"; ip -4 addr show eth0 | grep inet'

say "the DinV host $name is running"
cat <<TXT
Connect:   export DOCKER_HOST=tcp://127.0.0.1:$port   (or: docker -H 127.0.0.1:$port ...)
           docker exec -it $name docker ps        (the image's own CLI)
Log:       docker logs $name
Stop:      docker rm -f -v $name
Plain TCP: anyone who reaches port $port is root on this machine; for real use
           start DinV with -tlsverify (see the README).
TXT
