# raftbench: common tasks. `make help` lists them.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c

FUZZTIME ?= 30s
SEEDS ?= 10000
COUNT ?= 6
SOAK ?= 5m
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: help build test race vet fmt-check lint fuzz sim bench demo ci soak

help: ## list targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-10s %s\n", $$1, $$2}'

build: ## compile everything
	go build ./...

test: ## run the tests
	go test ./...

race: ## run the tests under the race detector
	go test -race ./...

vet: ## go vet
	go vet ./...

fmt-check: ## fail if any file needs gofmt
	@files=$$(gofmt -l .); if [ -n "$$files" ]; then echo "gofmt needed:"; echo "$$files"; exit 1; fi

lint: vet fmt-check ## vet, gofmt and staticcheck
	go run $(STATICCHECK) ./...

fuzz: ## run every fuzz target for FUZZTIME (default 30s) each
	@for pkg in $$(go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./...); do \
		names=$$(go test -list '^Fuzz' "$$pkg"); \
		for name in $$(grep '^Fuzz' <<<"$$names" || true); do \
			echo "== $$pkg $$name for $(FUZZTIME)"; \
			go test "$$pkg" -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
		done; \
	done

sim: ## randomized simulation over SEEDS seeds (default 10000)
	go test ./raft/sim -run TestSimRandomized -count=1 -timeout 0 -sim.seeds=$(SEEDS)

KILLS ?= 500

.PHONY: crash
crash: ## WAL crash test: SIGKILL the writer KILLS times (default 500), recover, verify
	go test ./raft/wal -run '^TestCrash$$' -count=1 -timeout 0 -v -wal.kills=$(KILLS)

bench: ## benchmarks, COUNT runs each, into bench.txt
	go test -run '^$$' -bench . -benchmem -count=$(COUNT) ./... | tee bench.txt
	@echo "compare runs with: go run golang.org/x/perf/cmd/benchstat@latest old.txt bench.txt"

demo: ## simulated 5-node election demo
	go run ./cmd/raftbench demo

ci: ## what CI runs
	bash .ci/run

soak: ## 3-node TCP cluster under load with snapshots for SOAK (default 5m): heap and peak RSS
	go test ./raft/node -run '^TestSoak$$' -count=1 -timeout 0 -v -node.soak=$(SOAK)

.PHONY: figure16
figure16: ## regenerate results/figure16 (the simulated Figure 16 and the experiments beyond it)
	go build -o /tmp/raftbench-figure16 ./cmd/raftbench
	rm -rf results/figure16/sim results/figure16/beyond
	R=results/figure16; B=/tmp/raftbench-figure16; \
	$$B election --quiet --out $$R/sim && \
	$$B election --quiet --out $$R/beyond/cluster-sizes --nodes 3,5,7,9 --timeouts 150-300,150-155,25-50 && \
	$$B election --quiet --out $$R/beyond/prevote --prevote --timeouts 150-155,150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/loss-1pct --loss 0.01 --timeouts 150-155,150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/loss-5pct --loss 0.05 --timeouts 150-155,150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/partition --failure leader-partition --timeouts 150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/partition-checkquorum --failure leader-partition --check-quorum --timeouts 150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/leader-and-follower --failure leader-and-follower-crash --timeouts 150-155,150-300,25-50 && \
	$$B election --quiet --out $$R/beyond/candidate-timeout --candidate-timeout 10-40 --timeouts 150-150,150-151,150-155

.PHONY: figure16-real
figure16-real: ## regenerate results/figure16/real: real nodes, TCP, fsync (about 20 minutes)
	go build -o /tmp/raftbench-figure16 ./cmd/raftbench
	rm -rf results/figure16/real
	R=results/figure16/real; B=/tmp/raftbench-figure16; F="--net-delay uniform:0.13ms-0.47ms --disk-delay exp:0.5ms+4ms"; \
	$$B election --mode real --quiet --trials 300 --out $$R/machine-only && \
	$$B election --mode real --quiet --trials 300 $$F --out $$R/fitted-model && \
	$$B election --mode real --quiet --trials 300 --timeouts 150-155,150-200,150-300,12-24,25-50,100-200 --disk-delay exp:0ms+0.25ms --out $$R/disk-0.25ms && \
	$$B election --mode real --quiet --trials 300 --timeouts 150-155,150-200,150-300,12-24,25-50,100-200 --disk-delay exp:0ms+0.5ms --out $$R/disk-0.5ms && \
	$$B election --mode real --quiet --trials 300 --timeouts 150-155,150-200,150-300,12-24,25-50,100-200 --net-delay uniform:2ms-4ms --disk-delay exp:1ms+8ms --out $$R/broadcast-15ms && \
	for p in 1 8 16; do $$B election --mode real --quiet --trials 300 --timeouts 150-300 $$F --parallel $$p --out $$R/parallel-$$p || exit 1; done

.PHONY: pyroscope profiling-cost
pyroscope: ## a local Pyroscope server on :4040 (Docker; optional: nothing else needs it)
	docker run --rm -p 4040:4040 grafana/pyroscope

profiling-cost: ## throughput cost of --pyroscope-url: PAIRS (default 3) alternating runs with and without, median ratio
	scripts/profiling-cost.sh

.PHONY: metrics-cost
.PHONY: baselines
baselines: ## results/baselines: raft against etcd, etcd-async and hashicorp (saturation, open loop, 95% reads; ~15 min)
	scripts/baselines.sh

.PHONY: disk-floor
disk-floor: ## the disk's durable-latency floor with no Raft: 3 writers, write+fdatasync, open loop (RATE per writer, default 50000)
	go run ./scripts/diskfloor -rate $(or $(RATE),50000) -duration 20s

metrics-cost: ## throughput cost of --metrics-addr scraped every second: PAIRS (default 3) alternating runs with and without, median ratio
	scripts/metrics-cost.sh
