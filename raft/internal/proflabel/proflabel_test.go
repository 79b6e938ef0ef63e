package proflabel

import "testing"

// current returns g's pairs as a map.
func current(g *Goroutine) map[string]string {
	got := map[string]string{}
	kv := g.labels()
	for i := 0; i+1 < len(kv); i += 2 {
		got[kv[i]] = kv[i+1]
	}
	return got
}

func TestSetPair(t *testing.T) {
	kv := setPair(nil, "a", "1")
	kv = setPair(kv, "b", "2")
	kv = setPair(kv, "a", "3")
	kv = setPair(kv, "b", "")
	kv = setPair(kv, "c", "")
	if len(kv) != 2 || kv[0] != "a" || kv[1] != "3" {
		t.Errorf("got %q, want [a 3]", kv)
	}
}

func TestRefresh(t *testing.T) {
	defer Enable(false)
	defer Set("phase", "")
	Set("phase", "warmup")
	g := NewGoroutine(func() []string { return []string{"node", "7", "phase", "own"} })
	g.Refresh()
	if gen.Load() == 0 {
		// Off since the process started: Refresh did nothing at all.
		if seen := g.seen; seen != 0 {
			t.Errorf("off: seen %d, want 0", seen)
		}
	}
	Enable(true)
	g.Refresh()
	if got := current(g); got["node"] != "7" || got["phase"] != "own" {
		t.Errorf("on: labels %v, want node=7 phase=own (its own pairs win)", got)
	}
	w := NewGoroutine(nil)
	Set("phase", "measure")
	w.Refresh()
	if got := current(w); len(got) != 1 || got["phase"] != "measure" {
		t.Errorf("process-wide only: labels %v, want phase=measure", got)
	}
	if Get("phase") != "measure" {
		t.Errorf("Get: %q, want measure", Get("phase"))
	}
	Enable(false)
	w.Refresh()
	if got := current(w); len(got) != 0 {
		t.Errorf("off again: labels %v, want none", got)
	}
}

// BenchmarkRefresh is the per-wake-up cost of a labelled goroutine when
// nothing changed, with labels off and on.
func BenchmarkRefresh(b *testing.B) {
	defer Enable(false)
	for _, on := range []bool{false, true} {
		name := "off"
		if on {
			name = "on"
		}
		b.Run(name, func(b *testing.B) {
			Enable(on)
			g := NewGoroutine(func() []string { return []string{"node", "1"} })
			g.Refresh()
			b.ReportAllocs()
			for b.Loop() {
				g.Refresh()
			}
		})
	}
}
