package snap_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/snap"
)

func Example() {
	dir, err := os.MkdirTemp("", "snap-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	store, err := snap.Open(dir, snap.Options{Keep: 2})
	if err != nil {
		log.Fatal(err)
	}

	// Write a snapshot: stream the payload, then Commit. The deferred
	// Abort cleans up if anything fails before Commit.
	save := func(meta raft.SnapshotMeta, state io.Reader) error {
		w, err := store.Create(meta)
		if err != nil {
			return err
		}
		defer w.Abort()
		if _, err := io.Copy(w, state); err != nil {
			return err
		}
		return w.Commit()
	}
	if err := save(raft.SnapshotMeta{Index: 100, Term: 3, Voters: []uint64{1, 2, 3}}, strings.NewReader("x=1 y=2")); err != nil {
		log.Fatal(err)
	}

	// Restore: find the newest snapshot and read it to io.EOF, which
	// verifies its checksum.
	meta, ok, err := store.Latest()
	if err != nil || !ok {
		log.Fatal(ok, err)
	}
	rc, size, err := store.OpenSnapshot(meta)
	if err != nil {
		log.Fatal(err)
	}
	defer rc.Close()
	state, err := io.ReadAll(rc)
	if err != nil {
		log.Fatal(err) // errors.Is(err, snap.ErrCorrupt) if the payload is damaged
	}
	fmt.Printf("index=%d term=%d voters=%v size=%d state=%q\n", meta.Index, meta.Term, meta.Voters, size, state)
	// Output: index=100 term=3 voters=[1 2 3] size=7 state="x=1 y=2"
}
