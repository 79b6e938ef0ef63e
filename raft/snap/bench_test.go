package snap

import (
	"io"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

func BenchmarkCommit(b *testing.B) {
	const size = 8 << 20
	data := payload(1, size)
	s, _ := openStore(b, b.TempDir(), 1)
	b.SetBytes(size)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		w, err := s.Create(raft.SnapshotMeta{Index: uint64(i + 1), Term: 1, Voters: []uint64{1, 2, 3}})
		if err != nil {
			b.Fatal(err)
		}
		for p := data; len(p) > 0; p = p[64<<10:] {
			if _, err := w.Write(p[:64<<10]); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Commit(); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead(b *testing.B) {
	const size = 8 << 20
	s, _ := openStore(b, b.TempDir(), 1)
	meta := raft.SnapshotMeta{Index: 1, Term: 1}
	writeSnap(b, s, meta, payload(1, size))
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		rc, _, err := s.OpenSnapshot(meta)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := io.Copy(io.Discard, rc); err != nil {
			b.Fatal(err)
		}
		rc.Close()
	}
}
