package bench

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

func op(client int, write bool, key, value string, found bool, call, ret int64) porcupine.Operation {
	in := kvInput{Write: write, Key: key}
	out := kvOutput{}
	if write {
		in.Value = value
	} else {
		out = kvOutput{Value: value, Found: found}
	}
	return porcupine.Operation{ClientId: client, Input: in, Output: out, Call: call, Return: ret}
}

func TestCheckerCatchesAStaleRead(t *testing.T) {
	h := &History{max: 100}
	h.ops = []porcupine.Operation{
		op(0, true, "x", "1", false, 0, 10),
		op(1, false, "x", "", false, 20, 30), // after the write completed, the key must exist
	}
	res := h.Check(time.Second)
	if res.Linearized {
		t.Fatal("a read missing a completed write was accepted")
	}
	path := filepath.Join(t.TempDir(), "violation.html")
	if err := res.Visualize(path); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
		t.Fatalf("no visualization written: %v", err)
	}
}

func TestCheckerAcceptsConcurrentAndUnknownWrites(t *testing.T) {
	h := &History{max: 100}
	h.ops = []porcupine.Operation{
		op(0, true, "x", "1", false, 0, 10),
		op(1, true, "x", "2", false, 5, 1<<62), // outcome unknown
		op(2, false, "x", "2", true, 20, 30),   // it took effect
		op(3, false, "y", "", false, 0, 40),
	}
	if res := h.Check(time.Second); !res.Linearized {
		t.Fatal("a linearizable history was refused")
	}
}

// A full history keeps the writes still in flight when it filled: a read
// recorded before may have seen one, and without it the check would call
// a correct run a violation.
func TestFullHistoryKeepsWritesInFlight(t *testing.T) {
	h := NewHistory(2)
	h.start = time.Now().Add(-time.Hour) // the run began an hour ago
	at := func(ms int) time.Time { return h.start.Add(time.Duration(ms) * time.Millisecond) }
	h.write(1, []byte("k"), []byte("0"), at(0), at(1), true)
	// Client 2's write of "1" is called at 2 ms; client 3 reads it at 3-4 ms.
	h.read(3, []byte("k"), []byte("1"), true, at(3), at(4)) // the history is full
	h.write(1, []byte("j"), []byte("x"), at(5), at(6), true)
	h.write(2, []byte("k"), []byte("1"), at(2), at(9), true) // answered last
	res := h.Check(time.Second)
	if !res.Linearized {
		t.Fatalf("a linearizable history cut when full was refused (%d ops, %d dropped)", res.Ops, res.Dropped)
	}
	if res.Ops != 4 {
		t.Errorf("%d operations kept, want 4: each was called before the cut", res.Ops)
	}
}

// After the cut, operations called later and reads still in flight are
// dropped (a read in flight may have seen a write called after the cut).
func TestFullHistoryDropsWhatFollowsTheCut(t *testing.T) {
	h := NewHistory(1)
	h.start = time.Now().Add(-time.Hour)
	h.write(1, []byte("k"), []byte("0"), h.start, h.start.Add(time.Millisecond), true)
	later := time.Now().Add(time.Hour)                                                 // after any cut made now
	h.write(2, []byte("k"), []byte("1"), h.start.Add(2*time.Millisecond), later, true) // full: the cut is now
	cut := h.cut
	if cut == 0 {
		t.Fatal("no cut after the history filled")
	}
	h.write(3, []byte("k"), []byte("2"), later, later.Add(time.Millisecond), true)                            // called after the cut
	h.read(4, []byte("k"), []byte("2"), true, h.start.Add(3*time.Millisecond), later.Add(2*time.Millisecond)) // in flight at the cut
	res := h.Check(time.Second)
	if res.Ops != 2 || res.Dropped != 2 {
		t.Errorf("kept %d, dropped %d; want 2 and 2", res.Ops, res.Dropped)
	}
	if !res.Linearized {
		t.Error("the kept history was refused")
	}
}
