package wal

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// BenchmarkAppend measures Save + Sync with fdatasync: one op is one entry,
// written in batches of 1 or 256 entries with one Sync per batch (group
// commit), so ns/op is the cost per entry and MB/s counts entry data.
func BenchmarkAppend(b *testing.B) {
	for _, size := range []int{128, 4096} {
		for _, batch := range []int{1, 256} {
			b.Run(fmt.Sprintf("size=%d/batch=%d", size, batch), func(b *testing.B) {
				benchmarkAppend(b, size, batch, false)
			})
		}
	}
}

// BenchmarkAppendNoSync is BenchmarkAppend without fdatasync (Options.
// NoSync): the cost of encoding and writing alone.
func BenchmarkAppendNoSync(b *testing.B) {
	for _, size := range []int{128, 4096} {
		for _, batch := range []int{1, 256} {
			b.Run(fmt.Sprintf("size=%d/batch=%d", size, batch), func(b *testing.B) {
				benchmarkAppend(b, size, batch, true)
			})
		}
	}
}

func benchmarkAppend(b *testing.B, size, batch int, noSync bool) {
	w, _, err := Open(b.TempDir(), Options{NoSync: noSync})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Close()
	ents := make([]raft.Entry, batch)
	for i := range ents {
		ents[i] = raft.Entry{Term: 1, Data: make([]byte, size)}
	}
	b.SetBytes(int64(size))
	b.ReportAllocs()
	b.ResetTimer()
	next := uint64(1)
	for i := 0; i < b.N; i += batch {
		n := min(batch, b.N-i)
		for j := range n {
			ents[j].Index = next + uint64(j)
		}
		if err := w.Save(raft.HardState{}, ents[:n]); err != nil {
			b.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			b.Fatal(err)
		}
		next += uint64(n)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "entries/s")
}

// BenchmarkFsync measures what every durable Sync pays at least: one small
// write (128 bytes) into a preallocated file and one fdatasync, as the WAL
// does. The node's commit latency is compared with it.
func BenchmarkFsync(b *testing.B) {
	benchmarkFsync(b, false)
}

// BenchmarkFsyncOverwrite is BenchmarkFsync on a file whose blocks were
// written before (zeros), so fdatasync has no extent to convert from
// "allocated, unwritten" to "written": the floor of a synced write here.
func BenchmarkFsyncOverwrite(b *testing.B) {
	benchmarkFsync(b, true)
}

func benchmarkFsync(b *testing.B, overwrite bool) {
	const fileBytes = 64 << 20
	f, err := os.Create(filepath.Join(b.TempDir(), "fsync"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	if overwrite {
		zero := make([]byte, 1<<20)
		for off := int64(0); off < fileBytes; off += int64(len(zero)) {
			if _, err := f.WriteAt(zero, off); err != nil {
				b.Fatal(err)
			}
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
	} else if err := preallocate(f, fileBytes); err != nil {
		b.Fatal(err)
	}
	buf := make([]byte, 128)
	b.SetBytes(int64(len(buf)))
	b.ReportAllocs()
	b.ResetTimer()
	off := int64(0)
	for i := 0; i < b.N; i++ {
		if _, err := f.WriteAt(buf, off); err != nil {
			b.Fatal(err)
		}
		if err := fdatasync(f); err != nil {
			b.Fatal(err)
		}
		if off += int64(len(buf)); off+int64(len(buf)) > fileBytes {
			off = 0
		}
	}
}
