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
	grep -E -- '^ *--- FAIL|^ +[A-Za-z0-9_]+\.go:[0-9]+: |^(FAIL|panic:|ok )' "$log" | grep -v ': log of ' | cut -c1-400 | tail -60
fi
exit "$code"
