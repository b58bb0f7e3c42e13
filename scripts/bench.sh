#!/usr/bin/env bash
# bench.sh: `make bench`. DinV (socket activation on) against the bare engine
# of the same image (its own TCP listener) and against the image started by
# hand with activation (bench/launcher), side by side on this machine's Docker
# engine (bench/: start to first answer, memory, usage, docker load and save
# through the port, the sandboxes, a swarm), then the in-process Go
# benchmarks of certificate generation and argument building. Prints
# markdown. Then the starts alone of every other dinv:<major.minor> image
# here, and the chart of them all (docs/performance-start.svg), drawn by
# bench/chart.go from the runs' results (bin/bench/start-*.json).
#   IMAGE=dinv:26.1 ROUNDS=9 scripts/bench.sh
#   CHART_IMAGES="" scripts/bench.sh            # IMAGE alone in the chart
#   BENCH_FLAGS=-swarm-rounds=0 scripts/bench.sh  # more flags for IMAGE's run (go run ./bench -h)
set -euo pipefail
cd "$(dirname "$0")/.."
IMAGE=${IMAGE:-dinv:latest}
ROUNDS=${ROUNDS:-5}
CHART=${CHART:-docs/performance-start.svg}
if [[ -z ${CHART_IMAGES+set} ]]; then
	CHART_IMAGES=$(docker images --format '{{.Repository}}:{{.Tag}}' dinv | grep -E '^dinv:[0-9]+\.[0-9]+$' | sort -V || true)
fi

results=bin/bench
mkdir -p "$results"
rm -f "$results"/start-*.json
go build -o bin/bench-run ./bench
tag() { # the engine's major.minor an image carries
	docker image inspect -f '{{index .Config.Labels "org.dinv.engine-version"}}' "$1" | cut -d. -f1,2
}
main_id=$(docker image inspect -f '{{.Id}}' "$IMAGE")

# shellcheck disable=SC2086 # BENCH_FLAGS is a list of flags
bin/bench-run -image "$IMAGE" -rounds "$ROUNDS" ${BENCH_FLAGS:-} -results "$results/start-$(tag "$IMAGE").json"

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

# The chart's other engines: their starts only, the same rounds.
for image in $CHART_IMAGES; do
	[[ $(docker image inspect -f '{{.Id}}' "$image") == "$main_id" ]] && continue
	echo
	bin/bench-run -image "$image" -rounds "$ROUNDS" -sandboxes=false -throughput=false -stages=false -swarm-rounds=0 \
		-results "$results/start-$(tag "$image").json"
done
mapfile -t files < <(ls "$results"/start-*.json | sort -V)
bin/bench-run -chart "$CHART" "${files[@]}"
echo
echo "Chart: $CHART (from ${files[*]})"
