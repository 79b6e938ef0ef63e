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
