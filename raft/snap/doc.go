// Package snap stores Raft snapshots as files in one directory, one file per
// snapshot, written so that a crash at any point leaves either the old set of
// snapshots or the new one, never a partial snapshot under a snapshot's name.
//
// # API
//
//	func Open(dir string, opt Options) (*Store, error)
//	func (s *Store) Create(meta raft.SnapshotMeta) (*Writer, error)
//	func (w *Writer) Write(p []byte) (int, error)
//	func (w *Writer) Commit() error
//	func (w *Writer) Abort() error
//	func (s *Store) Latest() (meta raft.SnapshotMeta, ok bool, err error)
//	func (s *Store) List() ([]raft.SnapshotMeta, error)
//	func (s *Store) OpenSnapshot(meta raft.SnapshotMeta) (io.ReadCloser, int64, error)
//
// Open creates the directory if needed and removes the temporary files of
// snapshots that were being written when the process stopped. Options.Keep
// (default 2) is how many complete snapshots to keep; Options.Logger
// (default: discard) receives warnings about invalid files.
//
// A Store is safe for concurrent use. Only one Store may use a directory at
// a time (Open removes other writers' temporary files).
//
// # Writing
//
// Create starts a snapshot in a temporary file (<term>-<index>.<random>.snap.tmp).
// The caller streams the payload into the Writer (it is an io.Writer; the
// payload is never held in memory) and then calls exactly one of:
//
//   - Commit: writes the payload checksum and the final header, fsyncs the
//     file, renames it to its final name, fsyncs the directory, then removes
//     the oldest valid snapshots beyond Keep (never the one just committed).
//     When Commit returns nil the snapshot is durable.
//   - Abort: removes the temporary file. Abort after Commit is a no-op, so
//     `defer w.Abort()` is the safe pattern.
//
// A Writer is for one goroutine. Payload bytes are written outside the
// Store's lock: Latest, OpenSnapshot and other Writers proceed meanwhile.
// Create refuses (fs.ErrExist) a term and index that already has a complete
// snapshot; nothing is ever overwritten.
//
// # Reading
//
// Latest returns the newest valid snapshot's meta: the highest index (then
// term) among files whose header checksum, size and name agree. List returns
// all of them, newest first. Neither reads payloads. An invalid file is
// logged and skipped, and left in place for inspection: this package never
// removes or overwrites a file because it is corrupt (pruning removes only
// valid snapshots, and only beyond Keep).
//
// OpenSnapshot returns a snapshot's payload as a stream, with its size. The
// stream verifies the payload checksum at its end: it reports io.EOF only
// after the payload matched, and an error wrapping ErrCorrupt otherwise.
// Consumers must read to io.EOF before trusting the data (io.Copy and
// io.ReadAll do). Because Latest does not read payloads, a snapshot it
// returns can still fail that check; List gives the older one to fall back
// on. A reader stays valid if its snapshot is pruned while it is open.
//
// # Errors
//
// Every error that means "these bytes are not a valid snapshot" wraps
// ErrCorrupt; a missing snapshot wraps fs.ErrNotExist; a duplicate one
// fs.ErrExist; using a finished Writer returns ErrFinished.
//
// # File format
//
// A snapshot file is named %016x-%016x.snap (term, index) and holds, with
// every integer big-endian:
//
//	magic "RBSNAP01" | version uint32 (1) | index uint64 | term uint64 |
//	payload length uint64 | voter count uint32 (<= MaxVoters) | voters uint64... |
//	crc32c(header so far) uint32 | payload | crc32c(payload) uint32
//
// The checksums are CRC-32C (Castagnoli). The payload length is not known
// when the header is first written: Commit rewrites the header in place (it
// keeps its size) before the file is synced and renamed. A file is valid if
// its header checksum matches, its name agrees with its header and its size
// is exactly header + payload length + 4.
package snap
