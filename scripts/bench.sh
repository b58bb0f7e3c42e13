#!/usr/bin/env bash
# bench.sh: `make bench`. DinV (socket activation on) against the bare engine
# of the same image (its own TCP listener) and against the image started by
# hand with activation (bench/launcher), side by side on this machine's Docker
# engine (bench/: start to first answer, memory, usage, docker load and save
# through the port), then the in-process Go benchmarks of certificate
# generation and argument building. Prints markdown.
#   IMAGE=dinv:26.1 ROUNDS=9 scripts/bench.sh
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-dinv:latest}
ROUNDS=${ROUNDS:-5}

go run ./bench -image "$IMAGE" -rounds "$ROUNDS"

echo
echo "In-process Go benchmarks (go test -bench, $(nproc) CPUs):"
echo
out=$(go test -run '^$' -bench . -benchmem ./stages/pki/ ./stages/engine/)
echo "| benchmark | iterations | time/op | B/op | allocs/op |"
echo "|---|---|---|---|---|"
awk '/^Benchmark/ && $4 == "ns/op" {
	t = $3 < 1e3 ? sprintf("%.0f ns", $3) : $3 < 1e6 ? sprintf("%.1f µs", $3 / 1e3) : sprintf("%.2f ms", $3 / 1e6)
	printf "| %s | %s | %s | %s | %s |\n", $1, $2, t, $5, $7
}' <<<"$out"
grep -q '^Benchmark' <<<"$out" || { echo "(no benchmarks found)"; echo "$out" >&2; }
