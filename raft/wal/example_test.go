package wal_test

import (
	"fmt"
	"log"
	"os"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/wal"
)

func Example() {
	dir, err := os.MkdirTemp("", "wal-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	w, st, err := wal.Open(dir, wal.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("fresh:", len(st.Entries), "entries")

	// What the core asks to persist: entries, then the hard state. Save
	// queues; Sync writes all that is queued with one write and one
	// fdatasync.
	w.Save(raft.HardState{Term: 1, Vote: 1}, []raft.Entry{
		{Term: 1, Index: 1, Type: raft.EntryNoop},
		{Term: 1, Index: 2, Data: []byte("x=1")},
		{Term: 1, Index: 3, Data: []byte("y=2")},
	})
	// A new leader overwrites a conflicting suffix: truncate at 3.
	w.Save(raft.HardState{Term: 2, Vote: 3, Commit: 2}, []raft.Entry{{Term: 2, Index: 3, Data: []byte("y=3")}})
	if err := w.Sync(); err != nil {
		log.Fatal(err)
	}
	w.Close()

	w, st, err = wal.Open(dir, wal.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer w.Close()
	fmt.Printf("hard state: %+v\n", st.HardState)
	for _, e := range st.Entries {
		fmt.Printf("%d/%d %v %q\n", e.Index, e.Term, e.Type, e.Data)
	}
	// Output:
	// fresh: 0 entries
	// hard state: {Term:2 Vote:3 Commit:2}
	// 1/1 noop ""
	// 2/1 normal "x=1"
	// 3/2 normal "y=3"
}
