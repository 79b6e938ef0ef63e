package sim

import (
	"strings"
	"testing"
)

// TestSameSeedSameRun runs a faulty scenario twice with one seed and
// compares the full event traces; a different seed must give a different
// trace (otherwise the comparison would prove nothing).
func TestSameSeedSameRun(t *testing.T) {
	run := func(seed uint64) (string, uint64) {
		var b strings.Builder
		s := scenario{seed: seed, trace: &b}
		if err := s.run(); err != nil {
			t.Fatalf("seed %d: %v", seed, err)
		}
		return b.String(), s.traceHash
	}
	for _, seed := range []uint64{3, 17, 101} {
		a, ha := run(seed)
		b, hb := run(seed)
		if a != b {
			t.Fatalf("seed %d: two runs differ:\n%s", seed, firstDiff(a, b))
		}
		if ha != hb {
			t.Fatalf("seed %d: trace hashes differ: %x vs %x", seed, ha, hb)
		}
		if strings.Count(a, "\n") < 100 {
			t.Fatalf("seed %d: trace has only %d events", seed, strings.Count(a, "\n"))
		}
		c, hc := run(seed + 1000)
		if c == a || hc == ha {
			t.Fatalf("seeds %d and %d produced the same trace", seed, seed+1000)
		}
	}
}

func firstDiff(a, b string) string {
	la, lb := strings.Split(a, "\n"), strings.Split(b, "\n")
	for i := range min(len(la), len(lb)) {
		if la[i] != lb[i] {
			return "line " + la[i] + "\n  vs " + lb[i]
		}
	}
	return "one trace is a prefix of the other"
}
