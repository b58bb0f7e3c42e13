#!/usr/bin/env bash
# runsc.sh: gVisor's runtime for the machine's Docker engine (`make engine`
# runs it). Installs runsc in /usr/local/bin when missing or older than the
# 2024 build, registers it in /etc/docker/daemon.json as the runtime "runsc"
# and makes the running engine reload its configuration (SIGHUP: no restart).
#
# The machine is Debian 12, whose runsc (2022) cannot start a container here.
# trixie's build (gVisor release 20240729 built with Go 1.24) runs DinV; sid's
# build of the same release (Go 1.26) does not: its sentry panics in its first
# seconds ("running on goroutine ... (task goroutine for kernel.Task ... is
# 0)", runsc's debug log) and the container ends with status 2 and no output.
# It is one static binary: the package is fetched with a sources list and
# package lists of its own, in a temporary directory, and unpacked with dpkg
# -x; the machine's apt sources are left as they were. The suite and package
# version installed are kept beside it (runsc.source), and another suite's
# binary is replaced.
#
# daemon.json: every key others put there is kept; only .runtimes.runsc is
# set. The new file is checked as JSON before it replaces the old one (written
# whole, then renamed), and a file that is not JSON is left alone: the script
# fails instead.
#
# RUNSC_SUITE (default trixie) chooses the suite; RUNSC_ARGS the runtime's
# arguments as a JSON array.
set -euo pipefail
suite=${RUNSC_SUITE:-trixie}
bin=/usr/local/bin/runsc
stamp=/usr/local/lib/dinv/runsc.source
conf=/etc/docker/daemon.json
# --network=host: the sandbox uses the container's network namespace
# through the host kernel's sockets. gVisor's own network stack refuses to
# start here ("cannot run with network enabled in root network namespace"):
# runsc 20240729 takes a network namespace with /proc/sys/net/core/rmem_default
# for the machine's own, and this machine's Linux 6.18 has it in every namespace (later
# gVisor releases test dev_weight instead; Debian has none).
# --ignore-cgroups: runsc leaves the machine's cgroup v1 tree alone;
# --net-raw: raw sockets (ping) inside.
args=${RUNSC_ARGS:-'["--network=host","--ignore-cgroups","--net-raw"]'}

if [ ! -x "$bin" ] || [ "$(cut -d' ' -f1 "$stamp" 2>/dev/null)" != "$suite" ]; then
	tmp=$(mktemp -d /var/tmp/dinv-runsc.XXXXXX)
	trap 'rm -rf "$tmp"' EXIT
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/x"
	# The machine's own Debian mirror (as debootstrap, whose default it is
	# when the machine names none).
	mirror=$(grep -hoE '(https?://[^ ]+/debian)/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		head -1 | tr -d ' ' || true)
	mirror=${mirror%/}
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} $suite main" >"$tmp/sources.list"
	apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
	echo "runsc: fetching runsc from Debian $suite"
	apt-get "${apt_opts[@]}" update -qq
	(cd "$tmp" && apt-get "${apt_opts[@]}" download -qq runsc)
	dpkg -x "$tmp"/runsc_*.deb "$tmp/x"
	install -m 0755 "$tmp/x/usr/bin/runsc" "$bin.new"
	mv "$bin.new" "$bin"
	mkdir -p "$(dirname "$stamp")"
	echo "$suite $(dpkg-deb -f "$tmp"/runsc_*.deb Version)" >"$stamp"
fi
echo "runsc: $("$bin" --version | head -1) at $bin"

mkdir -p "$(dirname "$conf")"
old='{}'
if [ -s "$conf" ]; then
	if ! jq -e 'type == "object"' "$conf" >/dev/null 2>&1; then
		echo "runsc: $conf is not a JSON object; not touching it" >&2
		exit 1
	fi
	old=$(cat "$conf")
fi
new=$(jq --arg path "$bin" --argjson args "$args" \
	'.runtimes = ((.runtimes // {}) + {runsc: {path: $path, runtimeArgs: $args}})' <<<"$old")
if [ "$(jq -S . <<<"$old")" = "$(jq -S . <<<"$new")" ]; then
	registered=1
else
	registered=0
	jq -e 'type == "object"' <<<"$new" >/dev/null
	printf '%s\n' "$new" >"$conf.dinv-tmp"
	mv "$conf.dinv-tmp" "$conf"
	echo "runsc: registered in $conf"
fi

# The running engine reloads daemon.json on SIGHUP (a restart would stop
# everyone's containers). Its pid: the pid file of the default engine.
want=$(jq -cS -n --arg path "$bin" --argjson args "$args" '{path: $path, runtimeArgs: $args}')
current() { docker info --format '{{json .Runtimes.runsc}}' 2>/dev/null | jq -cS . 2>/dev/null || true; }
if ! docker version >/dev/null 2>&1; then
	echo "runsc: no engine answers: it takes runsc at its start"
	exit 0
fi
if [ "$(current)" = "$want" ]; then
	[ "$registered" = 1 ] && echo "runsc: already registered"
	exit 0
fi
pid=$(cat /var/run/docker.pid 2>/dev/null || true)
if [ -z "$pid" ] || ! kill -0 "$pid" 2>/dev/null; then
	echo "runsc: no engine pid in /var/run/docker.pid: it takes runsc at its next start" >&2
	exit 0
fi
kill -HUP "$pid"
for _ in $(seq 1 50); do
	[ "$(current)" = "$want" ] && break
	sleep 0.1
done
if [ "$(current)" != "$want" ]; then
	echo "runsc: the engine did not take runsc after SIGHUP (its log: /var/log/dockerd.log)" >&2
	exit 1
fi
echo "runsc: the engine (pid $pid) reloaded its configuration"
