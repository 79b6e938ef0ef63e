// Package wal is the write-ahead log of the raft node: the durable log
// entries, hard state and compaction point, in segment files written with
// group commit and recovered after a crash.
//
// # Use
//
//	w, st, err := wal.Open(dir, wal.Options{})   // st: hard state, snapshot marker, entries
//	...
//	// for each raft.Ready that MustPersist, in order:
//	if rd.Snapshot != nil {
//		err = w.SaveSnapshot(rd.Snapshot.Meta) // after the snapshot itself is durable
//	}
//	err = w.Save(rd.HardState, rd.Entries)     // queue; truncates if Entries[0] was written before
//	err = w.Sync()                             // one write + one fdatasync for all that is queued
//	// then core.Persisted(now, rd.Mark)
//	...
//	err = w.Compact(snapIndex)                 // after SaveSnapshot+Sync of a local snapshot
//
// Save and SaveSnapshot only encode into a buffer; Sync writes the buffer
// with one write call and makes it durable with one fdatasync. A driver
// that queues several Readies (Save, Save, ...) before one Sync commits
// them as a group; a Ready counts as durable only once a Sync that follows
// its Save has returned nil.
//
// # Rules for the caller
//
//   - A WAL is not safe for concurrent use. One goroutine (the node's disk
//     goroutine) makes every call; hand it work through a channel.
//   - Records are written in call order. Follow the core's order within a
//     Ready: snapshot marker, then entries, then hard state (Save writes
//     its entries before its hard state).
//   - Save copies what it needs: the caller keeps ents and their data.
//   - A failed Sync leaves the WAL unusable (every call returns the error):
//     after a failed fdatasync the kernel may have dropped the dirty pages,
//     so retrying could report durable data that is not. Close it and Open
//     again; recovery keeps exactly what is on disk.
//   - SaveSnapshot is called only once the snapshot it names is durable
//     (e.g. package snap has renamed it into place). Compact deletes
//     segments only up to the last marker written by a Sync.
//   - Entries handed back by Open reference memory the WAL no longer uses;
//     the caller owns them.
//   - One process per directory: Open takes an exclusive flock on
//     dir/LOCK and fails with ErrLocked if another process holds it.
//
// # Files and records
//
// The directory holds segment files named %016x-%016x.wal: a sequence
// number and the index of the first entry the segment may hold, so names
// sort in log order. A segment is preallocated to Options.SegmentBytes
// (fallocate; where unsupported, the file is only extended) and is created
// under a temporary name, its header synced, renamed, and the directory
// synced. Once the segment being written is half full, the next one's file
// is prepared on a goroutine of its own: allocated, written with zeros and
// synced (NNN-spare.wal.tmp), so that the syncs of its group commits flush
// data over written blocks and no unwritten-extent conversions (see
// prepareSpare). Each Sync's write goes wholly into one segment: if it does not
// fit in the current one it goes to a new one (a write larger than a
// segment gets a segment of its own, which grows past SegmentBytes). The
// previous segment is then trimmed to what it holds.
//
// A record is [length u32][crc32c u32][type u8][payload], little endian.
// length counts the payload; the CRC (Castagnoli) covers length, type and
// payload; the type's high bit marks the first record of a write. Types:
//
//	segment header  magic, version, sequence, next index, hard state, snapshot
//	entry           term, index, entry type, data
//	hard state      term, vote, commit
//	snapshot        index, term, voters     (the compaction point)
//	truncate        index                   (discard entries from index on)
//
// Every payload is non-empty, so a zero length is never a record: it marks
// the end of the written part of a segment (the preallocated zeros). A
// record's payload is at most MaxRecordBytes; the decoder checks the length
// before it reads the payload and allocates nothing but a snapshot's voter
// list, bounded by the payload. Each segment header repeats the hard state
// and snapshot marker as they were when it was created, so segments before
// it can be deleted without losing them.
//
// # Recovery
//
// Open replays every segment in order: entries append, truncation records
// cut the log, snapshot markers drop the entries they cover (all of them if
// the log disagrees with the marker at its index), the last hard state
// wins. The result is the raft.State the core restarts from.
//
// Crashes damage only the last write: a Sync starts its write only after
// the previous Sync returned. So at the first invalid record of the last
// segment (bad length, bad checksum, short, a zero length followed by
// non-zero bytes), Open looks for the start of a later write anywhere after
// it. If there is none, the damage is a torn last write: it was never
// acknowledged, and Open cuts it off, refills the segment with zeros,
// logs it and reports it in Recovery().TornTail. Anything else is
// corruption of acknowledged data, and Open fails with a *CorruptError
// (errors.Is(err, ErrCorrupt)) naming the file and offset, before it
// changes anything on disk: damage in any segment but the last, damage
// followed by a later write, a bad segment header, a gap in sequence
// numbers, a valid record that contradicts the log (an entry that does not
// follow the last one, a truncation outside the log, a header that
// disagrees with the segments before it), or entries missing between the
// snapshot and the first segment.
package wal
