#!/usr/bin/env bash
# privileges.sh IMAGE: print, one per line, the docker run options that give a
# DinV container what it needs on this machine's engine, found by probing:
# --privileged where the engine grants it, else the documented explicit set
# (every capability the engine can grant, no seccomp/AppArmor confinement, no
# masked /proc paths, all devices). Same probe as test/harness.
#   mapfile -t priv < <(scripts/privileges.sh dinv); docker run "${priv[@]}" ...
set -euo pipefail
image=${1:?usage: privileges.sh IMAGE}
explicit=(--security-opt seccomp=unconfined --security-opt apparmor=unconfined
	--security-opt systempaths=unconfined --device-cgroup-rule 'a *:* rwm')
try() { docker run --rm --entrypoint true "$@" "$image" >/dev/null 2>"$err"; }
err=$(mktemp)
trap 'rm -f "$err"' EXIT
for set in privileged all all-but-sys-resource; do
	case $set in
	privileged) opts=(--privileged) ;;
	all) opts=(--cap-add ALL "${explicit[@]}") ;;
	all-but-sys-resource) opts=(--cap-add ALL --cap-drop SYS_RESOURCE "${explicit[@]}") ;;
	esac
	if try "${opts[@]}"; then
		printf '%s\n' "${opts[@]}"
		exit 0
	fi
	echo "privileges: refused: ${opts[*]}: $(head -1 "$err")" >&2
done
echo "privileges: the engine runs $image with none of the option sets" >&2
exit 1
