package snap

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/raftbench/raftbench/raft"
)

// DefaultKeep is the number of complete snapshots a Store keeps when
// Options.Keep is zero: the newest, and one to fall back on.
const DefaultKeep = 2

// Options configures a Store. The zero value is valid.
type Options struct {
	// Keep is how many complete snapshots Commit leaves in the directory
	// (the newest ones by index); 0 means DefaultKeep. Negative is an error.
	Keep int
	// Logger receives warnings about corrupt files and notes on cleanup;
	// nil discards them.
	Logger *slog.Logger
}

// Store is one directory of snapshot files. It is safe for concurrent use.
// Only one Store (in one process) may use a directory at a time: Open
// removes the temporary files of any other writer.
type Store struct {
	dir  string
	keep int
	log  *slog.Logger

	// mu serializes the directory-level operations (rename, prune, scans,
	// opening files) so that a scan never sees a file vanish under it.
	// Snapshots are rare, so one lock is enough; payload bytes are written
	// and read outside it.
	mu sync.Mutex
}

// Open opens the snapshot directory dir, creating it if needed, and removes
// the temporary files a crash left behind.
func Open(dir string, opt Options) (*Store, error) {
	if opt.Keep < 0 {
		return nil, fmt.Errorf("snap: Options.Keep is %d, want >= 0", opt.Keep)
	}
	if opt.Keep == 0 {
		opt.Keep = DefaultKeep
	}
	if opt.Logger == nil {
		opt.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, keep: opt.Keep, log: opt.Logger}

	_, err := os.Stat(dir)
	created := errors.Is(err, fs.ErrNotExist)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("snap: creating directory: %w", err)
	}
	if created {
		// Make the new directory's own entry durable, or a crash could lose
		// the directory along with every snapshot committed into it.
		if err := syncDir(filepath.Dir(filepath.Clean(dir))); err != nil {
			return nil, err
		}
	}

	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("snap: reading directory: %w", err)
	}
	removed := 0
	for _, e := range ents {
		if !e.Type().IsRegular() || !strings.HasSuffix(e.Name(), tmpSuffix) {
			continue
		}
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("snap: removing leftover temporary file: %w", err)
		}
		s.log.Info("snap: removed unfinished snapshot", "dir", dir, "file", e.Name())
		removed++
	}
	if removed > 0 {
		// Not needed for safety (a temporary file that reappears after a
		// crash is removed again), but it keeps the directory tidy.
		if err := syncDir(dir); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

// Latest returns the meta of the newest complete snapshot: the highest index
// (then term) among the files whose header and size are valid. Files that
// are not valid are logged and skipped, never removed. ok is false if there
// is no valid snapshot. The payload checksum is not verified here (that
// would read the whole payload); OpenSnapshot's reader verifies it.
func (s *Store) Latest() (meta raft.SnapshotMeta, ok bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var found raft.SnapshotMeta
	err = s.scan(func(m raft.SnapshotMeta) bool {
		found, ok = m, true
		return false
	})
	if err != nil || !ok {
		return raft.SnapshotMeta{}, false, err
	}
	return found, true, nil
}

// List returns the metas of all valid snapshots, newest (highest index)
// first. Like Latest it logs and skips invalid files and does not read
// payloads. A caller whose restore from the newest snapshot fails with
// ErrCorrupt can fall back on the next one.
func (s *Store) List() ([]raft.SnapshotMeta, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var metas []raft.SnapshotMeta
	err := s.scan(func(m raft.SnapshotMeta) bool {
		metas = append(metas, m)
		return true
	})
	if err != nil {
		return nil, err
	}
	return metas, nil
}

// OpenSnapshot opens the payload of the snapshot meta names (by Index and
// Term; Voters are not compared) and returns it with its size in bytes. The
// reader verifies the payload checksum when it reaches the end: the Read
// that delivers the last bytes, or the one after, returns an error wrapping
// ErrCorrupt on a mismatch, and io.EOF only once the payload is verified. A
// consumer must therefore read until io.EOF before trusting what it read
// (io.Copy and io.ReadAll do; io.ReadFull of exactly size bytes does not).
// A file that is missing returns an error wrapping fs.ErrNotExist; one whose
// header or size is invalid, an error wrapping ErrCorrupt.
//
// The caller must Close the reader. A snapshot pruned while open stays
// readable until then.
func (s *Store) OpenSnapshot(meta raft.SnapshotMeta) (io.ReadCloser, int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	name := fileName(meta.Term, meta.Index)
	f, h, n, err := s.openFile(name)
	if err != nil {
		return nil, 0, err
	}
	return newReader(f, h, n), int64(h.payloadBytes), nil
}

// Create starts a new snapshot for meta. The caller writes the payload to
// the returned Writer, then calls Commit or Abort. It fails with an error
// wrapping fs.ErrExist if a complete snapshot for meta's term and index is
// already in the store. Writing happens outside the store's lock: other
// Store methods proceed meanwhile.
func (s *Store) Create(meta raft.SnapshotMeta) (*Writer, error) {
	if len(meta.Voters) > MaxVoters {
		return nil, fmt.Errorf("snap: %d voters, limit %d", len(meta.Voters), MaxVoters)
	}
	name := fileName(meta.Term, meta.Index)
	if _, err := os.Lstat(filepath.Join(s.dir, name)); err == nil {
		return nil, fmt.Errorf("snap: snapshot %s: %w", name, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("snap: %w", err)
	}
	meta.Voters = slices.Clone(meta.Voters)
	// The random part keeps two writers for the same meta apart; Commit
	// lets the first one win.
	f, err := os.CreateTemp(s.dir, strings.TrimSuffix(name, snapSuffix)+".*"+tmpSuffix)
	if err != nil {
		return nil, fmt.Errorf("snap: creating temporary file: %w", err)
	}
	return newWriter(s, f, name, meta), nil
}

// install moves the synced temporary file tmp into place as name, makes the
// rename durable and prunes old snapshots.
func (s *Store) install(tmp, name string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	final := filepath.Join(s.dir, name)
	// rename(2) would silently replace an existing snapshot; nothing is
	// ever overwritten, so check first (under mu, so no other Commit can
	// slip in between).
	if _, err := os.Lstat(final); err == nil {
		return fmt.Errorf("snap: snapshot %s: %w", name, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("snap: %w", err)
	}
	if err := os.Rename(tmp, final); err != nil {
		return fmt.Errorf("snap: renaming snapshot into place: %w", err)
	}
	if err := syncDir(s.dir); err != nil {
		// The file is complete and synced but its name may not survive a
		// crash. Leave it: it is valid, and removing it would be no more
		// durable than keeping it.
		return err
	}
	s.prune(name)
	return nil
}

// prune removes the valid snapshots beyond the s.keep newest, except just,
// the snapshot just committed (so that a Commit never removes its own
// snapshot, even one older than those already kept). Invalid files are
// left alone. Failures are logged: the new snapshot is already durable.
// s.mu must be held.
func (s *Store) prune(just string) {
	names, err := s.names()
	if err != nil {
		s.log.Warn("snap: listing directory for pruning", "dir", s.dir, "err", err)
		return
	}
	kept := 0
	for _, name := range names {
		if name == just {
			kept++
			continue
		}
		f, _, _, err := s.openFile(name)
		if err != nil {
			s.logInvalid(name, err)
			continue
		}
		f.Close()
		if kept < s.keep {
			kept++
			continue
		}
		if err := os.Remove(filepath.Join(s.dir, name)); err != nil {
			s.log.Warn("snap: removing old snapshot", "dir", s.dir, "file", name, "err", err)
			continue
		}
		s.log.Debug("snap: removed old snapshot", "dir", s.dir, "file", name)
	}
}

// scan calls fn with the meta of each valid snapshot, newest first, until fn
// returns false. Invalid files are logged and skipped; other errors (an
// unreadable directory or file) end the scan. s.mu must be held.
func (s *Store) scan(fn func(raft.SnapshotMeta) bool) error {
	names, err := s.names()
	if err != nil {
		return err
	}
	for _, name := range names {
		f, h, _, err := s.openFile(name)
		if err != nil {
			if errors.Is(err, ErrCorrupt) {
				s.logInvalid(name, err)
				continue
			}
			if errors.Is(err, fs.ErrNotExist) {
				continue // removed by someone else since the listing
			}
			return err
		}
		f.Close()
		if !fn(h.meta) {
			return nil
		}
	}
	return nil
}

func (s *Store) logInvalid(name string, err error) {
	s.log.Warn("snap: skipping invalid snapshot file (left in place)", "dir", s.dir, "file", name, "err", err)
}

// names returns the names of the snapshot files in the directory, newest
// (highest index, then term) first.
func (s *Store) names() ([]string, error) {
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return nil, fmt.Errorf("snap: reading directory: %w", err)
	}
	type named struct {
		name        string
		term, index uint64
	}
	var files []named
	for _, e := range ents {
		if term, index, ok := parseName(e.Name()); ok && e.Type().IsRegular() {
			files = append(files, named{e.Name(), term, index})
		}
	}
	slices.SortFunc(files, func(a, b named) int {
		if c := cmp.Compare(b.index, a.index); c != 0 {
			return c
		}
		return cmp.Compare(b.term, a.term)
	})
	names := make([]string, len(files))
	for i, f := range files {
		names[i] = f.name
	}
	return names, nil
}

// openFile opens the snapshot file name and validates its header, its size
// and that the header agrees with the name. On success the file is
// returned with the header and the header's size in bytes.
func (s *Store) openFile(name string) (*os.File, header, int, error) {
	term, index, ok := parseName(name)
	if !ok {
		panic(fmt.Sprintf("snap: openFile(%q): not a snapshot file name", name))
	}
	f, err := os.Open(filepath.Join(s.dir, name))
	if err != nil {
		return nil, header{}, 0, fmt.Errorf("snap: %w", err)
	}
	h, n, err := s.checkFile(f, name, term, index)
	if err != nil {
		f.Close()
		return nil, header{}, 0, err
	}
	return f, h, n, nil
}

func (s *Store) checkFile(f *os.File, name string, term, index uint64) (header, int, error) {
	fi, err := f.Stat()
	if err != nil {
		return header{}, 0, fmt.Errorf("snap: %w", err)
	}
	// The header is read with two small reads straight from the file; the
	// payload reader uses ReadAt, so the file offset does not matter.
	h, n, err := readHeader(f, fi.Size())
	if err != nil {
		return header{}, 0, fmt.Errorf("%w (file %s)", err, name)
	}
	if h.meta.Term != term || h.meta.Index != index {
		return header{}, 0, fmt.Errorf("%w: file %s holds the snapshot of term %d index %d",
			ErrCorrupt, name, h.meta.Term, h.meta.Index)
	}
	return h, n, nil
}

// syncDir fsyncs the directory dir, making renames, creations and removals
// in it durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("snap: opening directory for sync: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("snap: syncing directory %s: %w", dir, err)
	}
	return nil
}
