package etcd

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path/filepath"
	"time"

	"github.com/raftbench/raftbench/bench"
	rbraft "github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/snap"
	"github.com/raftbench/raftbench/raft/wal"
	"go.etcd.io/raft/v3"
	"go.etcd.io/raft/v3/raftpb"
)

// bootstrapIndex is the index of the snapshot every node starts from: an
// empty state machine and the voters, at index 1, term 1. etcd raft
// recommends this over RawNode.Bootstrap (a storage whose first index is
// above 1, holding the configuration), and it keeps configuration-change
// entries out of the log: membership is fixed here.
const (
	bootstrapIndex = 1
	bootstrapTerm  = 1
)

// storage is one node's log: durable in this project's WAL (entries, hard
// state, snapshot markers) and snapshot store (state machine images), and
// in memory in the raft.MemoryStorage that etcd raft reads. One goroutine
// calls save/sync/install/saveLocalSnapshot (the raft loop, or with async
// storage writes the append goroutine); the snapshot store and the
// MemoryStorage are themselves safe for concurrent use.
type storage struct {
	wal   *wal.WAL
	snaps *snap.Store
	mem   *raft.MemoryStorage
	conf  raftpb.ConfState

	// savedHS is the hard state last written; pendingHS the latest one
	// seen. A change of the commit index alone is not a reason to write
	// (etcd raft's MustSync): it rides along with the next write.
	savedHS, pendingHS raftpb.HardState
	dirty              bool           // something was queued in the WAL since the last sync
	scratch            []rbraft.Entry // conversion buffer, reused: Save copies what it needs

	// disk, if set, is told of every sync: the entries queued since the
	// last one (pending) and the fdatasync's time.
	disk    *bench.DiskRecorder
	pending int
}

// recovered is what a node restarts from.
type recovered struct {
	snapshot raftpb.Snapshot // the latest snapshot, Data included (nil for the bootstrap one)
	hs       raftpb.HardState
	last     uint64
}

// openStorage opens (or creates) the log in dir and rebuilds the
// MemoryStorage from it: the latest snapshot, then every durable entry
// after it, then the hard state.
func openStorage(dir string, voters []uint64, fsync bool) (*storage, recovered, error) {
	w, st, err := wal.Open(filepath.Join(dir, "wal"), wal.Options{NoSync: !fsync})
	if err != nil {
		return nil, recovered{}, err
	}
	snaps, err := snap.Open(filepath.Join(dir, "snap"), snap.Options{})
	if err != nil {
		w.Close()
		return nil, recovered{}, err
	}
	s := &storage{wal: w, snaps: snaps, mem: raft.NewMemoryStorage()}
	fail := func(err error) (*storage, recovered, error) {
		w.Close()
		return nil, recovered{}, err
	}
	if st.Snapshot.Index == 0 {
		if len(st.Entries) > 0 || st.HardState != (rbraft.HardState{}) {
			return fail(fmt.Errorf("etcd engine: %s: a log without the bootstrap snapshot", dir))
		}
		// A new node: its log starts after the bootstrap snapshot. The
		// empty state needs no file; the marker makes the WAL start there.
		st.Snapshot = rbraft.SnapshotMeta{Index: bootstrapIndex, Term: bootstrapTerm, Voters: voters}
		if err := w.SaveSnapshot(st.Snapshot); err != nil {
			return fail(err)
		}
		if err := w.Sync(); err != nil {
			return fail(err)
		}
	}
	s.conf = raftpb.ConfState{Voters: append([]uint64(nil), st.Snapshot.Voters...)}
	var rc recovered
	rc.snapshot.Metadata = raftpb.SnapshotMetadata{ConfState: s.conf, Index: st.Snapshot.Index, Term: st.Snapshot.Term}
	if st.Snapshot.Index > bootstrapIndex {
		data, err := s.readSnapshot(st.Snapshot)
		if err != nil {
			return fail(err)
		}
		rc.snapshot.Data = data
	}
	if err := s.mem.ApplySnapshot(rc.snapshot); err != nil {
		return fail(err)
	}
	ents := make([]raftpb.Entry, len(st.Entries))
	for i, e := range st.Entries {
		ents[i] = raftpb.Entry{Term: e.Term, Index: e.Index, Type: raftpb.EntryType(e.Type), Data: e.Data}
	}
	if err := s.mem.Append(ents); err != nil {
		return fail(err)
	}
	hs := raftpb.HardState{Term: st.HardState.Term, Vote: st.HardState.Vote, Commit: st.HardState.Commit}
	s.savedHS, s.pendingHS = hs, hs
	// The commit index is written only with other changes, so it may lag
	// a snapshot taken later; a snapshot is committed state, and etcd raft
	// refuses a commit index below its first index.
	hs.Commit = max(hs.Commit, st.Snapshot.Index)
	if err := s.mem.SetHardState(hs); err != nil {
		return fail(err)
	}
	rc.hs = hs
	rc.last, _ = s.mem.LastIndex()
	return s, rc, nil
}

func (s *storage) readSnapshot(meta rbraft.SnapshotMeta) ([]byte, error) {
	r, _, err := s.snaps.OpenSnapshot(meta)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	data, err := io.ReadAll(r) // ReadAll reads to EOF, which verifies the checksum
	if err != nil {
		return nil, fmt.Errorf("etcd engine: snapshot %d: %w", meta.Index, err)
	}
	return data, nil
}

// save queues one Ready's (or MsgStorageAppend's) durable state in the
// WAL, in the order the WAL wants: snapshot marker (its file made durable
// first), entries, hard state. It writes nothing to the disk but a
// received snapshot's file: sync does, once for everything queued.
func (s *storage) save(hs raftpb.HardState, ents []raftpb.Entry, snapshot *raftpb.Snapshot) error {
	hasSnap := snapshot != nil && !raft.IsEmptySnap(*snapshot)
	if !raft.IsEmptyHardState(hs) {
		s.pendingHS = hs
	}
	if hasSnap {
		if err := s.saveSnapshotFile(snapshot); err != nil {
			return err
		}
		md := snapshot.Metadata
		if err := s.wal.SaveSnapshot(rbraft.SnapshotMeta{Index: md.Index, Term: md.Term, Voters: md.ConfState.Voters}); err != nil {
			return err
		}
		s.dirty = true
	}
	termOrVote := s.pendingHS.Term != s.savedHS.Term || s.pendingHS.Vote != s.savedHS.Vote
	if len(ents) == 0 && !termOrVote && !hasSnap {
		return nil
	}
	s.scratch = s.scratch[:0]
	for i := range ents {
		e := &ents[i]
		s.scratch = append(s.scratch, rbraft.Entry{Term: e.Term, Index: e.Index, Type: rbraft.EntryType(e.Type), Data: e.Data})
	}
	p := s.pendingHS
	if err := s.wal.Save(rbraft.HardState{Term: p.Term, Vote: p.Vote, Commit: p.Commit}, s.scratch); err != nil {
		return err
	}
	clear(s.scratch) // drop the references to entry data
	s.pending += len(ents)
	s.savedHS = p
	s.dirty = true
	return nil
}

// sync makes everything queued durable with one write and one fdatasync
// (none without fsync).
func (s *storage) sync() error {
	if !s.dirty {
		return nil
	}
	s.dirty = false
	start := time.Now()
	err := s.wal.Sync()
	if s.disk != nil && err == nil {
		s.disk.Add(s.pending, time.Since(start))
	}
	s.pending = 0
	return err
}

// install makes durable state visible to etcd raft: the MemoryStorage
// takes the snapshot, the entries and the hard state. Called after sync.
func (s *storage) install(hs raftpb.HardState, ents []raftpb.Entry, snapshot *raftpb.Snapshot) error {
	if snapshot != nil && !raft.IsEmptySnap(*snapshot) {
		if err := s.mem.ApplySnapshot(*snapshot); err != nil && !errors.Is(err, raft.ErrSnapOutOfDate) {
			return err
		}
	}
	if !raft.IsEmptyHardState(hs) {
		s.mem.SetHardState(hs)
	}
	return s.mem.Append(ents)
}

// saveSnapshotFile writes a snapshot received from the leader to the
// snapshot store (temporary file, fsync, rename) before its marker goes to
// the WAL.
func (s *storage) saveSnapshotFile(snapshot *raftpb.Snapshot) error {
	md := snapshot.Metadata
	w, err := s.snaps.Create(rbraft.SnapshotMeta{Index: md.Index, Term: md.Term, Voters: md.ConfState.Voters})
	if errors.Is(err, fs.ErrExist) {
		return nil // already durable
	}
	if err != nil {
		return err
	}
	defer w.Abort()
	if _, err := w.Write(snapshot.Data); err != nil {
		return err
	}
	return w.Commit()
}

// saveLocalSnapshot records a snapshot of the state machine taken at
// index (its file already committed): the WAL marker, made durable; the
// MemoryStorage's snapshot, which etcd raft sends to followers that fall
// behind; and compaction of both logs. The MemoryStorage keeps catchUp
// entries before the snapshot, as etcd's server does, so that a follower a
// little behind gets entries rather than the whole state.
func (s *storage) saveLocalSnapshot(index, term uint64, data []byte, catchUp uint64) error {
	if err := s.wal.SaveSnapshot(rbraft.SnapshotMeta{Index: index, Term: term, Voters: s.conf.Voters}); err != nil {
		return err
	}
	s.dirty = true
	if err := s.sync(); err != nil {
		return err
	}
	if _, err := s.mem.CreateSnapshot(index, &s.conf, data); err != nil {
		if errors.Is(err, raft.ErrSnapOutOfDate) {
			return nil // a newer snapshot from the leader got here first
		}
		return err
	}
	if index > catchUp {
		if err := s.mem.Compact(index - catchUp); err != nil && !errors.Is(err, raft.ErrCompacted) {
			return err
		}
	}
	return s.wal.Compact(index)
}

// close releases the files. Every save has been synced (the raft loop
// syncs before it moves on), so Close writes nothing: after a crash the
// disk holds what was durable, no more.
func (s *storage) close() error {
	return s.wal.Close()
}
