package main

import (
	"runtime"
	"testing"
)

func TestRuntimeProcs(t *testing.T) {
	def := runtime.GOMAXPROCS(0)
	t.Setenv("GOMAXPROCS", "")
	if got := runtimeProcs(0, true); got != 2*def {
		t.Errorf("fsync, no flag: %d Ps, want twice the default %d", got, def)
	}
	if got := runtimeProcs(0, false); got != def {
		t.Errorf("no fsync, no flag: %d Ps, want the default %d", got, def)
	}
	if got := runtimeProcs(3, true); got != 3 {
		t.Errorf("--gomaxprocs 3: %d Ps", got)
	}
	t.Setenv("GOMAXPROCS", "1")
	if got := runtimeProcs(0, true); got != def {
		t.Errorf("GOMAXPROCS in the environment: %d Ps, want the runtime's %d", got, def)
	}
}
