package bench

import (
	"context"
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

// A cluster under partitions and crashes, with every read mode: the
// history the clients saw must be linearizable.
func TestLinearizableUnderFaults(t *testing.T) {
	for _, mode := range []ReadMode{ReadIndex, ReadLease, ReadLog, ReadFollower} {
		t.Run(string(mode), func(t *testing.T) {
			c := startTestCluster(t)
			h := NewHistory(50_000)
			stop := make(chan struct{})
			done := make(chan struct{})
			go func() { // faults: partition the leader, heal, crash and restart a node
				defer close(done)
				for i := 0; ; i++ {
					select {
					case <-stop:
						return
					case <-time.After(250 * time.Millisecond):
					}
					l := c.Leader()
					if l == 0 {
						continue
					}
					switch i % 4 {
					case 0:
						var rest []uint64
						for _, id := range c.Nodes() {
							if id != l {
								rest = append(rest, id)
							}
						}
						c.Partition([]uint64{l}, rest)
					case 1:
						c.Heal()
					case 2:
						c.Crash(l)
					case 3:
						for _, id := range c.Nodes() {
							c.Restart(id) // the crashed one comes back; others refuse
						}
					}
				}
			}()
			wl := workload()
			wl.Keys.Keys = 50 // contention on every key, yet short enough histories per key to check
			_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 4, Duration: 1200 * time.Millisecond,
				ReadMode: mode, Workload: wl, Timeout: time.Second, History: h},
				func(time.Time) Recorder { return &countRecorder{errs: map[string]int{}} }, nil)
			close(stop)
			<-done
			c.Heal()
			if err != nil {
				t.Fatal(err)
			}
			res := h.Check(30 * time.Second)
			if res.Ops < 50 {
				t.Fatalf("only %d operations recorded", res.Ops)
			}
			if !res.Linearized {
				path := filepath.Join(t.TempDir(), "violation.html")
				res.Visualize(path)
				t.Fatalf("%d operations: linearizable=%t unknown=%t (visualization: %s)", res.Ops, res.Linearized, res.Unknown, path)
			}
			t.Logf("%d operations linearizable", res.Ops)
		})
	}
}
