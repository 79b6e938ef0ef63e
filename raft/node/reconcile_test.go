package node

import (
	"testing"

	"github.com/raftbench/raftbench/raft"
)

func ents(first uint64, terms ...uint64) []raft.Entry {
	out := make([]raft.Entry, len(terms))
	for i, t := range terms {
		out[i] = raft.Entry{Index: first + uint64(i), Term: t}
	}
	return out
}

func TestReconcile(t *testing.T) {
	snap := raft.SnapshotMeta{Index: 5, Term: 2}
	tests := []struct {
		name      string
		st        raft.State
		wantFirst uint64 // first entry kept (0: none)
		wantN     int
		wantErr   bool
	}{
		{"WAL holds the snapshot's entry: keep what follows", raft.State{Entries: ents(1, 1, 1, 2, 2, 2, 2, 3)}, 6, 2, false},
		{"WAL entry at the snapshot index has another term: drop all", raft.State{Entries: ents(1, 1, 1, 1, 1, 1, 1)}, 0, 0, false},
		{"WAL ends before the snapshot (file newer than the WAL)", raft.State{Entries: ents(1, 1)}, 0, 0, false},
		{"WAL continues right after the snapshot", raft.State{Snapshot: raft.SnapshotMeta{Index: 5, Term: 2}, Entries: ents(6, 2, 3)}, 6, 2, false},
		{"WAL starts past the snapshot: a gap, drop", raft.State{Snapshot: raft.SnapshotMeta{Index: 3, Term: 1}, Entries: ents(8, 3)}, 0, 0, false},
		{"WAL compacted past the snapshot file", raft.State{Snapshot: raft.SnapshotMeta{Index: 9, Term: 3}}, 0, 0, true},
	}
	for _, tt := range tests {
		got, err := reconcile(tt.st, snap)
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %t", tt.name, err, tt.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if got.Snapshot.Index != snap.Index {
			t.Errorf("%s: snapshot %d, want %d", tt.name, got.Snapshot.Index, snap.Index)
		}
		if len(got.Entries) != tt.wantN || (tt.wantN > 0 && got.Entries[0].Index != tt.wantFirst) {
			t.Errorf("%s: entries %v, want %d from %d", tt.name, got.Entries, tt.wantN, tt.wantFirst)
		}
	}
}
