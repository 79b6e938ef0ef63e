#!/usr/bin/env bash
# Regenerates results/baselines: this project's raft engine against the
# baselines (etcd's raft, sync and async storage writes; hashicorp/raft),
# one load generator, one machine, alternating order over REPEAT rounds.
#
#   1. saturation: 1024 closed-loop clients, 128 B writes;
#   2. open loop at half the best baseline's saturation throughput;
#   3. 95% reads, linearizable through ReadIndex, 1024 clients.
#
# Each is a `raftbench run --engine ... --repeat N` comparison directory:
# one run directory per engine and round, and compare.{txt,md,csv} of the
# medians with ratios to the first engine (raft).
#
# Usage: scripts/baselines.sh            (about 15 minutes)
#        OUT=/tmp/b REPEAT=1 DURATION=5s scripts/baselines.sh
#        PROFILES=/tmp/p scripts/baselines.sh   (keep cpu.pprof and heap.pprof)
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${OUT:-results/baselines}
REPEAT=${REPEAT:-3}
DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-3s}
ENGINES=${ENGINES:-raft,etcd,etcd-async,hashicorp}
CLIENTS=${CLIENTS:-1024}

for d in saturation open-loop reads-95; do
	if [ -e "$OUT/$d" ]; then
		echo "$OUT/$d exists: remove it or choose another OUT (nothing was overwritten)" >&2
		exit 1
	fi
done
mkdir -p "$OUT"
tmp=$(mktemp -d)
bin=$tmp/raftbench
trap 'rm -rf "$tmp"' EXIT
go build -o "$bin" ./cmd/raftbench

# Every run profiles its measured phase, so that its report splits the
# CPU between the engine and the parts every engine shares (cpu_profile);
# the profiles themselves stay out of the results (PROFILES=dir keeps them).
profiles=${PROFILES:-$tmp/profiles}
common=(--nodes 3 --transport tcp --fsync --value-size 128 --duration "$DURATION" --warmup "$WARMUP"
	--engine "$ENGINES" --repeat "$REPEAT" --quiet)

"$bin" run "${common[@]}" --pprof-dir "$profiles/saturation" --clients "$CLIENTS" --read-ratio 0 --out "$OUT/saturation"

# The best baseline: the highest median throughput of the engines other
# than the first (column 2 of compare.csv).
best=$(awk -F, 'NR > 2 && $2 > max { max = $2; name = $1 } END { printf "%s %.0f\n", name, max }' "$OUT/saturation/compare.csv")
read -r best_name best_tput <<<"$best"
rate=$((best_tput / 2))
echo "best baseline at saturation: $best_name, $best_tput ops/s; open loop at $rate ops/s"

"$bin" run "${common[@]}" --pprof-dir "$profiles/open-loop" --clients "$CLIENTS" --read-ratio 0 --rate "$rate" --out "$OUT/open-loop"
"$bin" run "${common[@]}" --pprof-dir "$profiles/reads-95" --clients "$CLIENTS" --read-ratio 0.95 --read-mode readindex --out "$OUT/reads-95"

{
	echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "commit: $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
	echo "go: $(go version)"
	echo "kernel: $(uname -srm)"
	echo "cpus: $(nproc) ($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
	echo "memory: $(free -h | awk '/^Mem:/ {print $2}')"
	echo "disk: $(df -h "$OUT" | awk 'NR == 2 {print $1, $2}') ($(findmnt -no FSTYPE -T "$OUT" 2>/dev/null || echo '?'))"
	echo "open-loop rate: $rate ops/s (half of $best_name's $best_tput ops/s at saturation)"
	echo "command: REPEAT=$REPEAT DURATION=$DURATION WARMUP=$WARMUP ENGINES=$ENGINES CLIENTS=$CLIENTS scripts/baselines.sh"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt"
