#!/usr/bin/env bash
# The throughput cost of --metrics-addr: PAIRS pairs of the same
# `raftbench run`, without and with --metrics-addr, the second scraped
# once a second as Prometheus would (the whole /metrics page read each
# time). The order alternates from pair to pair so that drift of the
# machine falls on both. Prints each run's throughput, each pair's ratio
# (with / without) and the median ratio; CPU time per operation
# (report.json's resources) is compared the same way, as it is steadier than
# throughput on a machine whose speed drifts. On a shared machine the
# throughput of one run can swing by a third; the last step therefore also
# profiles one more scraped run (--profile) and prints the share of its CPU
# samples spent in the metrics code (the nodes' hooks, the per-request
# counting, Prometheus' client and the /metrics handler), a figure that the
# other tenants of the machine do not move.
#
#   PAIRS=3 DURATION=10s CLIENTS=256 scripts/metrics-cost.sh [extra run flags]
set -euo pipefail
cd "$(dirname "$0")/.."

PAIRS=${PAIRS:-3}
DURATION=${DURATION:-10s}
CLIENTS=${CLIENTS:-256}
SCRAPE_EVERY=${SCRAPE_EVERY:-1}
command -v curl >/dev/null || { echo "metrics-cost needs curl to scrape /metrics"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

go build -o "$tmp/raftbench" ./cmd/raftbench

field() { sed -n 's/.*"'"$1"'": *\([0-9.eE+-]*\).*/\1/p' "$2/report.json" | head -1; }

run_plain() { # run_plain NAME [flags]: prints the run's throughput
	local name=$1; shift
	"$tmp/raftbench" run --duration "$DURATION" --clients "$CLIENTS" --quiet --out "$tmp/$name" "$@" >"$tmp/$name.out" 2>&1 ||
		{ cat "$tmp/$name.out" >&2; exit 1; }
	field throughput_ops_per_sec "$tmp/$name"
}

run_scraped() { # run_scraped NAME [flags]: the same with --metrics-addr, scraped
	local name=$1; shift
	"$tmp/raftbench" run --duration "$DURATION" --clients "$CLIENTS" --quiet --out "$tmp/$name" \
		--metrics-addr 127.0.0.1:0 "$@" >"$tmp/$name.out" 2>&1 &
	local pid=$! url= scrapes=0
	for _ in $(seq 100); do
		url=$(sed -n 's/^raftbench: Prometheus metrics on //p' "$tmp/$name.out")
		[ -n "$url" ] && break
		sleep 0.1
	done
	[ -n "$url" ] || { cat "$tmp/$name.out" >&2; kill "$pid"; exit 1; }
	while kill -0 "$pid" 2>/dev/null; do
		curl -sf -o /dev/null "$url" && scrapes=$((scrapes + 1))
		sleep "$SCRAPE_EVERY"
	done
	wait "$pid" || { cat "$tmp/$name.out" >&2; exit 1; }
	echo "$scrapes" >"$tmp/$name.scrapes"
	field throughput_ops_per_sec "$tmp/$name"
}
cpu() { field cpu_seconds_per_100k_ops "$tmp/$1"; }

ratios=() offs=() ons=() cpus=()
for i in $(seq "$PAIRS"); do
	if [ $((i % 2)) -eq 1 ]; then
		off=$(run_plain "off-$i" "$@"); on=$(run_scraped "on-$i" "$@")
	else
		on=$(run_scraped "on-$i" "$@"); off=$(run_plain "off-$i" "$@")
	fi
	r=$(awk -v a="$on" -v b="$off" 'BEGIN { printf "%.4f", a / b }')
	c=$(awk -v a="$(cpu "on-$i")" -v b="$(cpu "off-$i")" 'BEGIN { printf "%.4f", (b > 0) ? a / b : 0 }')
	printf 'pair %d: without %.0f ops/s, with %.0f ops/s (%s scrapes), ratio %s; CPU per op ratio %s\n' \
		"$i" "$off" "$on" "$(cat "$tmp/on-$i.scrapes")" "$r" "$c"
	ratios+=("$r"); offs+=("$off"); ons+=("$on"); cpus+=("$c")
done
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
printf 'median: without %.0f ops/s, with %.0f ops/s; median ratio %s (cost %.1f%%)\n' \
	"$(median "${offs[@]}")" "$(median "${ons[@]}")" "$(median "${ratios[@]}")" \
	"$(awk -v r="$(median "${ratios[@]}")" 'BEGIN { print (1 - r) * 100 }')"
echo "median CPU time per operation ratio (with / without): $(median "${cpus[@]}")"

run_scraped profiled --profile "$@" >/dev/null
metrics_code='client_golang|bench/metrics\.\(\*recorder\)\.Op|nodeHooks|publishPeers|appendSent|Node\)\.Inflight|observeRoles|net/http\.\(\*conn\)\.serve'
share=$(go tool pprof -top -focus "$metrics_code" "$tmp/raftbench" "$tmp/profiled/cpu.pprof" 2>/dev/null |
	sed -n 's/^Showing nodes accounting for [^,]*, \([0-9.]*%\) of \(.*\) total$/\1 of \2/p')
echo "CPU samples in the metrics code, one more scraped run: ${share:-none}"
