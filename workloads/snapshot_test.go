package workloads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"runtime"
	"testing"
)

// serialize snapshots kv and writes the view. The format is deterministic,
// so equal bytes mean equal keys, values, sessions and applied index.
func serialize(t testing.TB, kv *KV) []byte {
	t.Helper()
	v, err := kv.Snapshot()
	if err != nil {
		t.Fatalf("Snapshot: %v", err)
	}
	defer v.Release()
	var buf bytes.Buffer
	n, err := v.WriteTo(&buf)
	if err != nil {
		t.Fatalf("WriteTo: %v", err)
	}
	if n != int64(buf.Len()) {
		t.Fatalf("WriteTo returned %d, wrote %d bytes", n, buf.Len())
	}
	return buf.Bytes()
}

func restored(t testing.TB, data []byte) *KV {
	t.Helper()
	kv := NewKV(KVConfig{})
	if err := kv.Restore(bytes.NewReader(data)); err != nil {
		t.Fatalf("Restore: %v", err)
	}
	return kv
}

// TestSnapshotWhileApplying takes a view, goes on applying (overwrites,
// deletes, new keys, new sessions) while another goroutine serializes the
// view, then checks that the serialized view is the state at view time.
func TestSnapshotWhileApplying(t *testing.T) {
	for _, keys := range []int{0, 1, 100, 5000} {
		t.Run(fmt.Sprintf("keys=%d", keys), func(t *testing.T) {
			a := &applier{t: t, kv: NewKV(KVConfig{})}
			ref := &applier{t: t, kv: NewKV(KVConfig{})} // stops at view time
			for i := range keys {
				data := EncodePut(uint64(i%7+1), uint64(i+1), AppendKey(nil, uint64(i)), fmt.Appendf(nil, "v%d", i))
				a.apply(data)
				ref.apply(data)
			}
			want := map[string]string{}
			for i := range keys {
				want[string(AppendKey(nil, uint64(i)))] = fmt.Sprintf("v%d", i)
			}

			view, err := a.kv.Snapshot()
			if err != nil {
				t.Fatalf("Snapshot: %v", err)
			}
			written := make(chan []byte)
			go func() {
				var buf bytes.Buffer
				if _, err := view.WriteTo(&buf); err != nil {
					t.Errorf("WriteTo: %v", err)
				}
				view.Release()
				written <- buf.Bytes()
			}()
			for i := range keys + 2000 {
				key := AppendKey(nil, uint64(i))
				switch i % 3 {
				case 0:
					a.apply(EncodePut(uint64(i%11+1), uint64(1e6+i), key, []byte("changed")))
				case 1:
					a.apply(EncodeDelete(uint64(i%13+1), uint64(1e6+i), key))
				default:
					a.apply(EncodePut(0, 0, append(key, 'x'), []byte("new")))
				}
			}
			data := <-written

			if ref := serialize(t, ref.kv); !bytes.Equal(data, ref) {
				t.Fatalf("view serialized to %d bytes that differ from the state at view time (%d bytes)", len(data), len(ref))
			}
			got := restored(t, data)
			if got.Len() != len(want) {
				t.Fatalf("restored Len: got %d, want %d", got.Len(), len(want))
			}
			for k, v := range want {
				if g, ok := got.Get([]byte(k)); !ok || string(g) != v {
					t.Fatalf("restored Get(%q): got (%q, %v), want (%q, true)", k, g, ok, v)
				}
			}
			if got.Applied() != uint64(keys) {
				t.Fatalf("restored Applied: got %d, want %d", got.Applied(), keys)
			}
			if again := serialize(t, got); !bytes.Equal(again, data) {
				t.Fatal("restored state serializes differently from the snapshot it came from")
			}
		})
	}
}

func TestWriteToAfterRelease(t *testing.T) {
	v, _ := NewKV(KVConfig{}).Snapshot()
	v.Release()
	if _, err := v.WriteTo(io.Discard); err == nil {
		t.Fatal("WriteTo after Release: got no error")
	}
}

func sampleSnapshot(t testing.TB) []byte {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	a.apply(EncodePut(1, 1, []byte("alpha"), []byte("one")))
	a.apply(EncodePut(2, 1, []byte("beta"), []byte("two")))
	a.apply(EncodeGet(3, 1, []byte("alpha")))
	a.apply(EncodePut(0, 0, []byte("gamma"), nil))
	return serialize(t, a.kv)
}

func TestRestoreCorrupt(t *testing.T) {
	valid := sampleSnapshot(t)
	flip := func(i int) []byte { b := bytes.Clone(valid); b[i] ^= 0x40; return b }
	type tc struct {
		name string
		data []byte
	}
	tests := []tc{
		{"empty", nil},
		{"bad magic", flip(0)},
		{"bad version", flip(8)},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"checksum", flip(len(valid) - 1)},
	}
	for n := 1; n < len(valid); n++ {
		tests = append(tests, tc{fmt.Sprintf("truncated to %d", n), valid[:n]})
	}
	for i := range len(valid) {
		tests = append(tests, tc{fmt.Sprintf("byte %d flipped", i), flip(i)})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &applier{t: t, kv: NewKV(KVConfig{})}
			a.apply(EncodePut(9, 9, []byte("before"), []byte("x")))
			before := serialize(t, a.kv)
			err := a.kv.Restore(bytes.NewReader(tt.data))
			if !errors.Is(err, ErrCorruptSnapshot) {
				t.Fatalf("Restore: got %v, want an error wrapping ErrCorruptSnapshot", err)
			}
			if after := serialize(t, a.kv); !bytes.Equal(after, before) {
				t.Fatal("a failed Restore changed the state")
			}
		})
	}
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

func TestRestoreReadError(t *testing.T) {
	boom := errors.New("disk on fire")
	if err := NewKV(KVConfig{}).Restore(failingReader{boom}); !errors.Is(err, boom) {
		t.Fatalf("Restore: got %v, want an error wrapping %v", err, boom)
	}
}

// TestRestoreHugeLengthsDoNotAllocate: a snapshot that claims a maximal
// value but holds a few bytes fails without allocating the claimed size.
func TestRestoreHugeLengthsDoNotAllocate(t *testing.T) {
	var b bytes.Buffer
	b.WriteString(snapshotMagic)
	b.Write([]byte{1, 0, 0, 0})                     // version
	b.Write(make([]byte, 8))                        // applied
	b.Write(make([]byte, 8))                        // no sessions
	b.Write([]byte{255, 255, 255, 255, 0, 0, 0, 0}) // 2^32-1 keys
	b.Write([]byte{1, 0, 0, 0, 0, 0, 0x40, 0})      // key 1 byte, value 4 MiB
	b.WriteString("kvvv")
	data := b.Bytes()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	if err := NewKV(KVConfig{}).Restore(bytes.NewReader(data)); !errors.Is(err, ErrCorruptSnapshot) {
		t.Fatalf("Restore: got %v, want ErrCorruptSnapshot", err)
	}
	runtime.ReadMemStats(&after)
	// Buffers (64 KiB each) are allowed; the claimed 4 MiB is not.
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Fatalf("Restore of a 4 MiB claim in %d bytes allocated %d bytes, want < 1 MiB", len(data), got)
	}
}

func FuzzRestore(f *testing.F) {
	f.Add(sampleSnapshot(f))
	f.Add(serialize(f, NewKV(KVConfig{})))
	f.Add([]byte(snapshotMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		kv := NewKV(KVConfig{})
		if err := kv.Restore(bytes.NewReader(data)); err != nil {
			if errors.Is(err, ErrCorruptSnapshot) {
				return
			}
			t.Fatalf("Restore: %v does not wrap ErrCorruptSnapshot", err)
		}
		// What Restore accepts serializes back to the same bytes.
		if again := serialize(t, kv); !bytes.Equal(again, data) {
			t.Fatalf("accepted snapshot re-serializes differently")
		}
	})
}

// FuzzRestoreBody fuzzes the snapshot body under a valid checksum, so that
// the structural checks behind the checksum are explored too.
func FuzzRestoreBody(f *testing.F) {
	for _, s := range [][]byte{sampleSnapshot(f), serialize(f, NewKV(KVConfig{}))} {
		f.Add(s[:len(s)-4])
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		data := binary.LittleEndian.AppendUint32(bytes.Clone(body), crc32.Checksum(body, castagnoli))
		kv := NewKV(KVConfig{})
		if err := kv.Restore(bytes.NewReader(data)); err != nil {
			if errors.Is(err, ErrCorruptSnapshot) {
				return
			}
			t.Fatalf("Restore: %v does not wrap ErrCorruptSnapshot", err)
		}
		if again := serialize(t, kv); !bytes.Equal(again, data) {
			t.Fatalf("accepted snapshot re-serializes differently")
		}
		// The restored state keeps working.
		if kv.Applied() < ^uint64(0) {
			kv.Apply(kv.Applied()+1, EncodePut(1, ^uint64(0), []byte("k"), []byte("v")))
		}
	})
}
