package workloads

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
)

// applier applies commands at consecutive indexes.
type applier struct {
	t     testing.TB
	kv    *KV
	index uint64
}

func (a *applier) apply(data []byte) *Result {
	a.index++
	return a.kv.Apply(a.index, data).(*Result)
}

func TestKVApply(t *testing.T) {
	type step struct {
		data      []byte
		wantValue []byte
		wantFound bool
	}
	k, v1, v2 := []byte("key"), []byte("one"), []byte("two")
	tests := []struct {
		name  string
		steps []step
		want  map[string]string // final state
	}{
		{"get missing", []step{{EncodeGet(0, 0, k), nil, false}}, map[string]string{}},
		{"put then get", []step{
			{EncodePut(0, 0, k, v1), nil, false},
			{EncodeGet(0, 0, k), v1, true},
		}, map[string]string{"key": "one"}},
		{"overwrite", []step{
			{EncodePut(0, 0, k, v1), nil, false},
			{EncodePut(0, 0, k, v2), nil, true},
			{EncodeGet(0, 0, k), v2, true},
		}, map[string]string{"key": "two"}},
		{"delete", []step{
			{EncodePut(0, 0, k, v1), nil, false},
			{EncodeDelete(0, 0, k), nil, true},
			{EncodeDelete(0, 0, k), nil, false},
			{EncodeGet(0, 0, k), nil, false},
		}, map[string]string{}},
		{"empty value is a value", []step{
			{EncodePut(0, 0, k, nil), nil, false},
			{EncodeGet(0, 0, k), []byte{}, true},
		}, map[string]string{"key": ""}},
		{"several keys", []step{
			{EncodePut(0, 0, []byte("b"), v1), nil, false},
			{EncodePut(0, 0, []byte("a"), v2), nil, false},
			{EncodePut(0, 0, []byte("c"), v1), nil, false},
			{EncodeDelete(0, 0, []byte("b")), nil, true},
		}, map[string]string{"a": "two", "c": "one"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &applier{t: t, kv: NewKV(KVConfig{})}
			for i, s := range tt.steps {
				res := a.apply(s.data)
				if res.Err != nil || res.Found != s.wantFound || !bytes.Equal(res.Value, s.wantValue) {
					t.Fatalf("step %d: got %+v, want {Value:%q Found:%v}", i, res, s.wantValue, s.wantFound)
				}
			}
			if got := a.kv.Len(); got != len(tt.want) {
				t.Fatalf("Len: got %d, want %d", got, len(tt.want))
			}
			for key, want := range tt.want {
				if got, ok := a.kv.Get([]byte(key)); !ok || string(got) != want {
					t.Fatalf("Get(%q): got (%q, %v), want (%q, true)", key, got, ok, want)
				}
				if got, ok := a.kv.GetInApply([]byte(key)); !ok || string(got) != want {
					t.Fatalf("GetInApply(%q): got (%q, %v), want (%q, true)", key, got, ok, want)
				}
			}
			for _, gone := range []string{"b", "missing"} {
				if _, in := tt.want[gone]; in {
					continue
				}
				if got, ok := a.kv.GetInApply([]byte(gone)); ok {
					t.Fatalf("GetInApply(%q) = %q: want not found", gone, got)
				}
			}
			if got := a.kv.Applied(); got != uint64(len(tt.steps)) {
				t.Fatalf("Applied: got %d, want %d", got, len(tt.steps))
			}
		})
	}
}

func TestKVApplyCopiesEntry(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	data := EncodePut(0, 0, []byte("key"), []byte("value"))
	a.apply(data)
	for i := range data {
		data[i] = 0 // the log may reuse its buffer
	}
	if got, ok := a.kv.Get([]byte("key")); !ok || string(got) != "value" {
		t.Fatalf("Get after the entry's buffer changed: got (%q, %v), want (\"value\", true)", got, ok)
	}
}

func TestKVApplyMalformed(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	a.apply(EncodePut(0, 0, []byte("k"), []byte("v")))
	res := a.apply([]byte("not a command"))
	if !errors.Is(res.Err, ErrMalformed) {
		t.Fatalf("Apply of garbage: got %+v, want an error wrapping ErrMalformed", res)
	}
	if a.kv.Len() != 1 || a.kv.Applied() != 2 {
		t.Fatalf("after garbage: Len %d Applied %d, want 1 and 2", a.kv.Len(), a.kv.Applied())
	}
}

func TestKVApplyIndexMustIncrease(t *testing.T) {
	kv := NewKV(KVConfig{})
	kv.Apply(5, EncodeGet(0, 0, []byte("k")))
	defer func() {
		if recover() == nil {
			t.Fatal("Apply at an index already applied did not panic")
		}
	}()
	kv.Apply(5, EncodeGet(0, 0, []byte("k")))
}

// TestKVGetConcurrentWithApply is for the race detector: readers run while
// the apply goroutine writes and snapshots.
func TestKVGetConcurrentWithApply(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for r := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := make([]byte, 0, KeyBytes)
			for i := uint64(r); ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key = AppendKey(key[:0], i%100)
				if v, ok := a.kv.Get(key); ok && !bytes.HasPrefix(v, key) {
					t.Errorf("Get(%s) = %q, want a value starting with the key", key, v)
					return
				}
			}
		}()
	}
	for i := range 5000 {
		key := AppendKey(nil, uint64(i%100))
		a.apply(EncodePut(0, 0, key, fmt.Appendf(bytes.Clone(key), "-%d", i)))
		if i%500 == 0 {
			v, _ := a.kv.Snapshot()
			v.Release()
		}
	}
	close(stop)
	wg.Wait()
}

// entryLess must order keys exactly as bytes.Compare does, including keys
// that differ only past the inline prefix or by trailing zero bytes.
func TestEntryLessMatchesBytesCompare(t *testing.T) {
	keys := [][]byte{
		{}, {0}, {0, 0}, {1}, []byte("a"), []byte("a\x00"), []byte("a\x00\x00"), []byte("ab"),
		[]byte("k0000000001"), []byte("k0000000002"), []byte("k00000000010"),
		[]byte("0123456789abcdef"), []byte("0123456789abcdef\x00"), []byte("0123456789abcdefg"),
		[]byte("0123456789abcdefh"), []byte("0123456789abcdeg"), []byte("0123456789abcde"),
		[]byte("0123456789abcdef0123456789"), []byte("\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		k := make([]byte, rng.IntN(24))
		for i := range k {
			k[i] = byte(rng.IntN(3)) // few symbols: many shared prefixes
		}
		keys = append(keys, k)
	}
	for _, a := range keys {
		for _, b := range keys[:40] {
			if got, want := entryLess(keyEntry(a), keyEntry(b)), bytes.Compare(a, b) < 0; got != want {
				t.Fatalf("entryLess(%q, %q) = %v, want %v", a, b, got, want)
			}
			if got, want := entryLess(keyEntry(b), keyEntry(a)), bytes.Compare(b, a) < 0; got != want {
				t.Fatalf("entryLess(%q, %q) = %v, want %v", b, a, got, want)
			}
		}
	}
}
