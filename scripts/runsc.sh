#!/usr/bin/env bash
# runsc.sh: gVisor's runtime for the machine's Docker engine (`make engine`
# runs it). Builds runsc from gVisor's Go module at the version pinned in
# scripts/runsc/go.mod (go.sum checks every module it is made of), installs
# it, registers it in /etc/docker/daemon.json as the runtime "runsc" and makes
# the running engine reload its configuration (SIGHUP: no restart).
#
# Reproducible: the toolchain is pinned too (GOTOOLCHAIN, fetched from the Go
# module proxy when the machine's go is another release), the flags are fixed
# here, and the result is checked against scripts/runsc/runsc.sha256 (the
# binary this build made; an architecture without a line there is built and
# said unchecked). Cached: the build is kept under /var/cache/dinv/runsc/, by a
# key of go.mod, go.sum, the toolchain and the flags; a second run builds
# nothing and takes about 3 s (the first: about 3.5 minutes on a quiet
# 2-core machine, an 83 MB static binary). A new pin in go.mod is a new key:
# the next run builds it.
#
# Fallback, only where the build is impossible (no go command, no module
# proxy): Debian trixie's runsc (release 20240729), which needs
# --network=host here (its network stack refuses Docker's namespaces on this
# Linux: docs/gvisor.md), said in one line.
#
# daemon.json: every key others put there is kept; only .runtimes.<name> is
# set. The new file is checked as JSON before it replaces the old one (written
# whole, then renamed), and a file that is not JSON is left alone: the script
# fails instead.
#
# RUNSC_NAME (default runsc) is the runtime's name; RUNSC_BIN (default
# /usr/local/bin/runsc) where the binary goes; RUNSC_ARGS the runtime's
# arguments as a JSON array; RUNSC_SOURCE=debian skips the build.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mod=$here/runsc
name=${RUNSC_NAME:-runsc}
bin=${RUNSC_BIN:-/usr/local/bin/runsc}
stamp=$(dirname "$bin")/.${name}.source
[ "$bin" = /usr/local/bin/runsc ] && stamp=/usr/local/lib/dinv/runsc.source
cachedir=/var/cache/dinv/runsc
conf=/etc/docker/daemon.json
toolchain=$(sed -n 's/^toolchain //p' "$mod/go.mod")
ldflags="-s -w -X gvisor.dev/gvisor/runsc/version.version=$(sed -n 's/^\tgvisor.dev\/gvisor \(v[^ ]*\).*/\1/p' "$mod/go.mod")"

# What the module's build is registered with (no --network=host: gVisor's own
# network stack, a network namespace of the sandbox's own):
#   --ignore-cgroups: runsc leaves the machine's cgroup v1 tree alone;
#   --net-raw: raw sockets inside, which gVisor's iptables needs (the engine's
#     -p and its DNS);
#   --allow-packet-socket-write: AF_PACKET sends, which engines from 28.0 on
#     make for every container they connect (unsolicited ARP: "failed to
#     advertise addresses: operation not supported" otherwise); what docker's
#     default CAP_NET_RAW gives any runc container.
module_args='["--ignore-cgroups","--net-raw","--allow-packet-socket-write"]'
# Debian's 20240729 release: the machine kernel's sockets (hostinet).
debian_args='["--network=host","--ignore-cgroups","--net-raw"]'

# build_module builds runsc from the pinned module into the cache (once per
# key) and sets built to its path; where it cannot, it sets why and fails.
build_module() {
	command -v go >/dev/null 2>&1 || { why="no go command"; return 1; }
	[ -n "$toolchain" ] || { why="$mod/go.mod pins no toolchain"; return 1; }
	local key out log arch want have
	key=$(cat "$mod/go.mod" "$mod/go.sum" <(echo "$toolchain $ldflags $(uname -m)") | sha256sum | cut -c1-16)
	out=$cachedir/$key/runsc
	if [ ! -x "$out" ]; then
		echo "runsc: building gVisor's runsc from its Go module (scripts/runsc/go.mod; a few minutes, once)"
		mkdir -p "$cachedir/$key"
		log=$cachedir/$key/build.log
		# Everything that changes the bytes is set here, nothing inherited.
		if ! (cd "$mod" && env GOTOOLCHAIN="$toolchain" CGO_ENABLED=0 GOOS=linux GOAMD64=v1 GOARM64=v8.0 \
			GOFLAGS='-trimpath -buildvcs=false -mod=readonly' GOEXPERIMENT= GOWORK=off \
			go build -ldflags "$ldflags" -o "$out.new" gvisor.dev/gvisor/runsc) >"$log" 2>&1; then
			why="go build: $(tail -1 "$log"), its log: $log"
			return 1
		fi
		mv "$out.new" "$out"
	fi
	arch=$(cd "$mod" && GOTOOLCHAIN="$toolchain" go env GOARCH)
	have=$(sha256sum "$out" | cut -d' ' -f1)
	want=$(awk -v a="$arch" '$1 == a {print $2}' "$mod/runsc.sha256" 2>/dev/null || true)
	if [ -z "$want" ]; then
		echo "runsc: no checksum for $arch in scripts/runsc/runsc.sha256: this build ($have) is unchecked"
	elif [ "$have" != "$want" ]; then
		why="the build differs from scripts/runsc/runsc.sha256 ($arch: built $have, recorded $want)"
		return 1
	fi
	built=$out
}

# fetch_debian unpacks trixie's runsc into a temporary directory and prints
# that directory, the binary's path and "debian-trixie <package version>".
fetch_debian() {
	local suite=trixie tmp mirror
	tmp=$(mktemp -d /var/tmp/dinv-runsc.XXXXXX)
	mkdir -p "$tmp/lists/partial" "$tmp/archives/partial" "$tmp/x"
	# The machine's own Debian mirror (as debootstrap, whose default it is
	# when the machine names none).
	mirror=$(grep -hoE '(https?://[^ ]+/debian)/?( |$)' /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null |
		head -1 | tr -d ' ' || true)
	mirror=${mirror%/}
	echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror:-http://deb.debian.org/debian} $suite main" >"$tmp/sources.list"
	local apt_opts=(-o "Dir::Etc::SourceList=$tmp/sources.list" -o Dir::Etc::SourceParts=/nonexistent
		-o "Dir::State::Lists=$tmp/lists" -o "Dir::Cache::Archives=$tmp/archives"
		-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= -o APT::Sandbox::User=root)
	apt-get "${apt_opts[@]}" update -qq >&2
	(cd "$tmp" && apt-get "${apt_opts[@]}" download -qq runsc) >&2
	dpkg -x "$tmp"/runsc_*.deb "$tmp/x"
	echo "$tmp"
	echo "$tmp/x/usr/bin/runsc"
	echo "debian-$suite $(dpkg-deb -f "$tmp"/runsc_*.deb Version)"
}

source_line="module $(sed -n 's/^\tgvisor.dev\/gvisor \(v[^ ]*\).*/\1/p' "$mod/go.mod") $toolchain"
built="" why="RUNSC_SOURCE=debian"
if [ "${RUNSC_SOURCE:-module}" = debian ] || ! build_module; then
	echo "runsc: cannot build gVisor's runsc from its Go module ($why); falling back to Debian trixie's runsc 20240729, which runs here only with --network=host" >&2
fi
if [ -n "$built" ]; then
	args=${RUNSC_ARGS:-$module_args}
	if ! cmp -s "$built" "$bin" 2>/dev/null || [ "$(cat "$stamp" 2>/dev/null)" != "$source_line" ]; then
		mkdir -p "$(dirname "$bin")" "$(dirname "$stamp")"
		install -m 0755 "$built" "$bin.new"
		mv "$bin.new" "$bin"
		echo "$source_line" >"$stamp"
	fi
else
	args=${RUNSC_ARGS:-$debian_args}
	if [ ! -x "$bin" ] || [ "$(cut -d' ' -f1 "$stamp" 2>/dev/null)" != debian-trixie ]; then
		echo "runsc: fetching runsc from Debian trixie"
		mapfile -t got < <(fetch_debian)
		mkdir -p "$(dirname "$bin")" "$(dirname "$stamp")"
		[ ${#got[@]} = 3 ] || { echo "runsc: fetching trixie's runsc failed" >&2; exit 1; }
		install -m 0755 "${got[1]}" "$bin.new"
		mv "$bin.new" "$bin"
		echo "${got[2]}" >"$stamp"
		rm -rf "${got[0]}"
	fi
fi
echo "runsc: $("$bin" --version | head -1) at $bin ($(cat "$stamp")), runtime \"$name\""

mkdir -p "$(dirname "$conf")"
old='{}'
if [ -s "$conf" ]; then
	if ! jq -e 'type == "object"' "$conf" >/dev/null 2>&1; then
		echo "runsc: $conf is not a JSON object; not touching it" >&2
		exit 1
	fi
	old=$(cat "$conf")
fi
new=$(jq --arg name "$name" --arg path "$bin" --argjson args "$args" \
	'.runtimes = ((.runtimes // {}) + {($name): {path: $path, runtimeArgs: $args}})' <<<"$old")
if [ "$(jq -S . <<<"$old")" = "$(jq -S . <<<"$new")" ]; then
	registered=1
else
	registered=0
	jq -e 'type == "object"' <<<"$new" >/dev/null
	printf '%s\n' "$new" >"$conf.dinv-tmp"
	mv "$conf.dinv-tmp" "$conf"
	echo "runsc: registered in $conf as \"$name\" with $args"
fi

# The running engine reloads daemon.json on SIGHUP (a restart would stop
# everyone's containers). Its pid: the pid file of the default engine.
want=$(jq -cS -n --arg path "$bin" --argjson args "$args" '{path: $path, runtimeArgs: $args}')
current() { docker info --format "{{json (index .Runtimes \"$name\")}}" 2>/dev/null | jq -cS . 2>/dev/null || true; }
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
