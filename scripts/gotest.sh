#!/bin/bash
# gotest.sh LOG ARGS...: go test ARGS, its output kept in LOG as well. When it
# fails, the failing tests and their messages are printed again at the end:
# CI shows only the tail of a run, under the containers' logs a failed test
# prints.
log=$1
shift
mkdir -p "$(dirname "$log")"
"${GO:-go}" test "$@" 2>&1 | tee "$log"
code=${PIPESTATUS[0]}
if [ "$code" -ne 0 ]; then
	echo "=== go test $*: the failures again (the whole output: $log)"
	# A message's own lines follow it, indented deeper; a container's log
	# (harness: "log of NAME") is left out.
	awk '
		/^ *--- FAIL|^(FAIL|panic:|ok )/ { print; keep = 0; next }
		match($0, /^ +[A-Za-z0-9_]+\.go:[0-9]+: /) {
			keep = index($0, ": log of ") ? 0 : 1; lines = 0
			match($0, /^ +/); indent = RLENGTH
			if (keep) print
			next
		}
		keep && match($0, /^ +/) && RLENGTH > indent && lines++ < 15 { print }
	' "$log" | cut -c1-300 | tail -80
fi
exit "$code"
