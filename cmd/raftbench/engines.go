package main

import (
	"fmt"
	"slices"
	"strings"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/baseline/etcd"
	"github.com/raftbench/raftbench/bench/baseline/hashicorp"
)

// engines are the Raft implementations `raftbench run --engine` drives,
// by name: this project's library, and the baselines it is measured
// against, each driven as its maintainers recommend (bench/baseline).
var engines = map[string]func() bench.Engine{
	"raft":       func() bench.Engine { return bench.RaftEngine{} },
	"etcd":       func() bench.Engine { return etcd.Engine{} },
	"etcd-async": func() bench.Engine { return etcd.Engine{AsyncStorageWrites: true} },
	"hashicorp":  func() bench.Engine { return hashicorp.Engine{} },
}

// engineNames lists the engines, sorted, for help and errors.
func engineNames() string {
	names := make([]string, 0, len(engines))
	for n := range engines {
		names = append(names, n)
	}
	slices.Sort(names)
	return strings.Join(names, ", ")
}

// parseEngines checks a comma-separated --engine list.
func parseEngines(s string) ([]string, error) {
	var out []string
	for _, name := range strings.Split(s, ",") {
		name = strings.TrimSpace(name)
		if _, ok := engines[name]; !ok {
			return nil, fmt.Errorf("unknown engine %q (want one or more of %s, comma-separated)", name, engineNames())
		}
		if slices.Contains(out, name) {
			return nil, fmt.Errorf("engine %q named twice", name)
		}
		out = append(out, name)
	}
	return out, nil
}
