#!/usr/bin/env bash
# swarm-demo.sh (`make swarm-demo`): three DinV hosts on one user-defined
# network form a Docker swarm, one `docker run` each and no `docker exec`:
# dinv-swarm-1 creates it (-swarm-init), dinv-swarm-2 joins as a manager and
# dinv-swarm-3 as a worker, the join tokens passing through the /certs volume
# they share. A DNS round-robin service then runs on all three, its host-mode
# port answering on each. The swarm stays running; running this again
# replaces it (volumes included).
#   IMAGE=dinv:20.10   the image (default dinv)
#   PORT=12380         node N's API on 127.0.0.1:PORT+N-1, its port 8080 on 127.0.0.1:PORT+10+N-1
#   SUBNET=10.214.0    the network's /24 (fixed addresses: managers keep theirs across restarts)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-dinv}
port=${PORT:-12380}
subnet=${SUBNET:-10.214.0}
net=dinv-swarm-demo
certs=dinv-swarm-demo-certs
busybox=dinv-test-busybox
nodes=(1 2 3)
if [ -t 1 ]; then
	say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
else
	say() { printf '\n==> %s\n' "$*"; }
fi
now_ms() { echo $(($(date +%s%N) / 1000000)); }

scripts/engine.sh
if ! docker image inspect "$image" "$busybox" >/dev/null 2>&1; then
	images/build.sh
fi

probe=$(mktemp)
trap 'rm -f "$probe"' EXIT
opts=$(go run ./test/harness/cmd/privileges "$image" 2>"$probe") || { cat "$probe" >&2; exit 1; }
mapfile -t priv <<<"$opts"

# A previous demo goes, with its volumes.
for n in "${nodes[@]}"; do docker rm -f -v "dinv-swarm-$n" >/dev/null 2>&1 || true; done
docker volume rm "$certs" "${nodes[@]/#/dinv-swarm-demo-data-}" >/dev/null 2>&1 || true
docker network rm "$net" >/dev/null 2>&1 || true
docker network create --subnet "$subnet.0/24" "$net" >/dev/null
docker volume create "$certs" >/dev/null

args_1=(-swarm-init)
args_2=(-swarm-join dinv-swarm-1 -swarm-role manager)
args_3=(-swarm-join dinv-swarm-1)
say "three DinV hosts, one docker run each"
start=$(now_ms)
for n in "${nodes[@]}"; do
	var="args_$n[@]"
	echo "docker run -d --name dinv-swarm-$n --network $net --ip $subnet.1$n -v $certs:/certs ... $image ${!var}"
	docker run -d --name "dinv-swarm-$n" --hostname "dinv-swarm-$n" "${priv[@]}" \
		--network "$net" --ip "$subnet.1$n" \
		-v "$certs:/certs" -v "dinv-swarm-demo-data-$n:/var/lib/docker" \
		-p "127.0.0.1:$((port + n - 1)):2375" -p "127.0.0.1:$((port + 10 + n - 1)):8080" \
		"$image" "${!var}" >/dev/null
done

api=127.0.0.1:$port
ready=0
until [ "$ready" = 3 ]; do
	for n in "${nodes[@]}"; do
		if [ "$(docker inspect -f '{{.State.Running}}' "dinv-swarm-$n")" != true ]; then
			echo "swarm-demo: dinv-swarm-$n stopped; its log:" >&2
			docker logs "dinv-swarm-$n" 2>&1 | grep -v '^time=' | tail -20 >&2
			exit 1
		fi
	done
	if [ $(($(now_ms) - start)) -gt 180000 ]; then
		echo "swarm-demo: the three nodes are not Ready after 3 minutes" >&2
		docker -H "$api" node ls >&2 || true
		exit 1
	fi
	ready=$(docker -H "$api" node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true)
	sleep 0.2
done
printf 'all three Ready in docker node ls %d ms after the first docker run\n' $(($(now_ms) - start))
docker -H "$api" node ls
for n in "${nodes[@]}"; do
	docker logs "dinv-swarm-$n" 2>&1 | grep -E 'dinv.swarm: (swarm created|joined)' | sed "s/^/dinv-swarm-$n: /"
done

say "a DNS round-robin service on every node, its port 8080 published in host mode"
for n in "${nodes[@]}"; do
	docker save "$busybox" | docker -H "127.0.0.1:$((port + n - 1))" load -q >/dev/null
done
docker -H "$api" service create --detach --no-resolve-image --name hello --mode global \
	--endpoint-mode dnsrr --publish mode=host,target=80,published=8080 --stop-grace-period 2s \
	--hostname '{{.Node.Hostname}}' "$busybox" \
	sh -c 'echo "hello from a task on $(hostname)" >/tmp/index.html; trap "exit 0" TERM; httpd -f -p 80 -h /tmp & wait' >/dev/null
for n in "${nodes[@]}"; do
	url=http://127.0.0.1:$((port + 10 + n - 1))/
	until out=$(curl -fsS --max-time 1 "$url" 2>/dev/null); do
		if [ $(($(now_ms) - start)) -gt 300000 ]; then
			echo "swarm-demo: $url does not answer" >&2
			docker -H "$api" service ps hello >&2
			exit 1
		fi
		sleep 0.2
	done
	echo "curl $url: $out"
done

say "the swarm is running"
cat <<TXT
Nodes:     dinv-swarm-1 (manager, created the swarm)  DOCKER_HOST=tcp://127.0.0.1:$port
           dinv-swarm-2 (manager)                     DOCKER_HOST=tcp://127.0.0.1:$((port + 1))
           dinv-swarm-3 (worker)                      DOCKER_HOST=tcp://127.0.0.1:$((port + 2))
Try:       docker -H 127.0.0.1:$port node ls
           docker -H 127.0.0.1:$port service ps hello
           docker -H 127.0.0.1:$port service create --name web --endpoint-mode dnsrr --replicas 3 --no-resolve-image $busybox httpd -f -p 80
           curl 127.0.0.1:$((port + 10)) 127.0.0.1:$((port + 11)) 127.0.0.1:$((port + 12))   (the service's host-mode port on each node)
Restart:   docker restart dinv-swarm-2   (it comes back a member: nothing is joined again)
Log:       docker logs dinv-swarm-1
Stop:      docker rm -f -v dinv-swarm-1 dinv-swarm-2 dinv-swarm-3; docker volume rm $certs dinv-swarm-demo-data-1 dinv-swarm-demo-data-2 dinv-swarm-demo-data-3; docker network rm $net
Note:      this kernel's IPVS decides the rest: without it (/proc/net/ip_vs), use --endpoint-mode dnsrr and
           --publish mode=host; service VIPs and the ingress routing mesh do not work. The API is plain TCP
           on 127.0.0.1 only: start DinV with -tlsverify for anything beyond this machine.
TXT
