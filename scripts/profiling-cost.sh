#!/usr/bin/env bash
# The throughput cost of continuous profiling: PAIRS pairs of the same
# `raftbench run`, without and with --pyroscope-url (every default profile
# type, pushed to cmd/profilesink, a receiver that decodes and discards),
# the order alternating from pair to pair so that drift of the machine
# falls on both. Prints each run's throughput, each pair's ratio and the
# median ratio (profiled / not profiled).
#
# INTERVAL is --pyroscope-interval (default 5s: two pushes or more in each
# measured phase, a heavier load than the 15 s default). The CPU time per
# operation (report.json's resources) is compared too: on a machine whose
# speed drifts it is steadier than throughput.
#
# ON_FLAGS are flags of the profiled runs only (e.g.
# ON_FLAGS="--pyroscope-profiles cpu").
#
#   PAIRS=3 DURATION=10s CLIENTS=256 scripts/profiling-cost.sh [extra run flags]
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-3}
DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-256}
INTERVAL=${INTERVAL:-5s}
tmp=$(mktemp -d)
sink_pid=
cleanup() {
	if [ -n "$sink_pid" ]; then kill "$sink_pid" 2>/dev/null || true; wait "$sink_pid" 2>/dev/null || true; fi
	rm -rf "$tmp"
}
trap cleanup EXIT

go build -o "$tmp/raftbench" ./cmd/raftbench
go build -o "$tmp/profilesink" ./cmd/profilesink
"$tmp/profilesink" --addr 127.0.0.1:0 2>"$tmp/sink.log" &
sink_pid=$!
for _ in $(seq 50); do
	url=$(sed -n 's/^profilesink: listening on //p' "$tmp/sink.log")
	[ -n "$url" ] && break
	sleep 0.1
done
[ -n "$url" ] || { echo "profilesink did not start:"; cat "$tmp/sink.log"; exit 1; }

# throughput DIR: throughput_ops_per_sec of DIR/report.json
throughput() { field throughput_ops_per_sec "$1"; }
field() { sed -n 's/.*"'"$1"'": *\([0-9.eE+-]*\).*/\1/p' "$2/report.json" | head -1; }

run() { # run NAME [flags]
	local name=$1; shift
	"$tmp/raftbench" run --duration "$DURATION" --clients "$CLIENTS" --quiet --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1 ||
		{ cat "$tmp/$name.out"; exit 1; }
	throughput "$tmp/$name"
}
cpu() { field cpu_seconds_per_100k_ops "$tmp/$1"; }

ratios=()
offs=()
ons=()
cpus=()
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) -eq 1 ]; then
		off=$(run "off-$i" "$@"); on=$(run "on-$i" --pyroscope-url "$url" --pyroscope-interval "$INTERVAL" ${ON_FLAGS:-} "$@")
	else
		on=$(run "on-$i" --pyroscope-url "$url" --pyroscope-interval "$INTERVAL" ${ON_FLAGS:-} "$@"); off=$(run "off-$i" "$@")
	fi
	r=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }')
	c=$(awk -v a="$(cpu "on-$i")" -v b="$(cpu "off-$i")" 'BEGIN { printf "%.4f", (b > 0) ? a / b : 0 }')
	printf 'pair %d: without %.0f ops/s, with %.0f ops/s, ratio %s; CPU per op ratio %s\n' "$i" "$off" "$on" "$r" "$c"
	ratios+=("$r"); offs+=("$off"); ons+=("$on"); cpus+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf 'median: without %.0f ops/s, with %.0f ops/s; median ratio %s (cost %.1f%%)\n' \
	"$(median "${offs[@]}")" "$(median "${ons[@]}")" "$(median "${ratios[@]}")" \
	"$(awk -v r="$(median "${ratios[@]}")" 'BEGIN { print (1 - r) * 100 }')"
echo "median CPU time per operation ratio (with / without): $(median "${cpus[@]}")"
kill "$sink_pid"; wait "$sink_pid" 2>/dev/null || true; sink_pid=
grep -h 'pushes taken' "$tmp/sink.log" || true
