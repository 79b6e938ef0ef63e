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
