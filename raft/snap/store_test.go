package snap

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// logBuffer collects a Store's log lines; it is safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func openStore(t testing.TB, dir string, keep int) (*Store, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := Open(dir, Options{Keep: keep, Logger: logger})
	if err != nil {
		t.Fatalf("Open(%s): %v", dir, err)
	}
	return s, logs
}

// payload returns n pseudo-random bytes drawn from seed.
func payload(seed uint64, n int) []byte {
	r := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	b := make([]byte, n)
	for i := 0; i < n; i += 8 {
		v := r.Uint64()
		for j := 0; j < 8 && i+j < n; j++ {
			b[i+j] = byte(v >> (8 * j))
		}
	}
	return b
}

// writeSnap commits a snapshot of meta holding data, written in chunks of
// varying sizes (some below the write buffer, some above it).
func writeSnap(t testing.TB, s *Store, meta raft.SnapshotMeta, data []byte) {
	t.Helper()
	w, err := s.Create(meta)
	if err != nil {
		t.Fatalf("Create(%+v): %v", meta, err)
	}
	defer w.Abort()
	chunks := []int{1, 7, 4096, writeBufferBytes + 3, 100, 1 << 20}
	for i, rest := 0, data; len(rest) > 0; i++ {
		n := min(chunks[i%len(chunks)], len(rest))
		got, err := w.Write(rest[:n])
		if err != nil || got != n {
			t.Fatalf("Write(%d bytes) = %d, %v; want %d, nil", n, got, err, n)
		}
		rest = rest[n:]
	}
	if err := w.Commit(); err != nil {
		t.Fatalf("Commit(%+v): %v", meta, err)
	}
}

// readSnap reads a snapshot's payload to EOF.
func readSnap(t testing.TB, s *Store, meta raft.SnapshotMeta) ([]byte, error) {
	t.Helper()
	rc, size, err := s.OpenSnapshot(meta)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err == nil && int64(len(data)) != size {
		t.Fatalf("read %d bytes, OpenSnapshot said %d", len(data), size)
	}
	return data, err
}

func dirNames(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func metaEqual(a, b raft.SnapshotMeta) bool {
	return a.Index == b.Index && a.Term == b.Term && slices.Equal(a.Voters, b.Voters)
}

func snapPath(dir string, term, index uint64) string {
	return filepath.Join(dir, fileName(term, index))
}

func TestRoundTrip(t *testing.T) {
	tests := []struct {
		name  string
		meta  raft.SnapshotMeta
		bytes int
	}{
		{"empty payload, no voters", raft.SnapshotMeta{Index: 1, Term: 1}, 0},
		{"one byte", raft.SnapshotMeta{Index: 5, Term: 2, Voters: []uint64{1}}, 1},
		{"buffer size", raft.SnapshotMeta{Index: 9, Term: 3, Voters: []uint64{1, 2, 3}}, writeBufferBytes},
		{"multi-MB", raft.SnapshotMeta{Index: 1 << 40, Term: 1<<63 + 7, Voters: []uint64{3, 1, 2, 1 << 63, 5}}, 5<<20 + 13},
		{"max voters", raft.SnapshotMeta{Index: 77, Term: 4, Voters: seq(MaxVoters)}, 1000},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			data := payload(uint64(i), tt.bytes)
			writeSnap(t, s, tt.meta, data)

			got, ok, err := s.Latest()
			if err != nil || !ok || !metaEqual(got, tt.meta) {
				t.Fatalf("Latest() = %+v, %t, %v; want %+v, true, nil", got, ok, err, tt.meta)
			}
			rc, size, err := s.OpenSnapshot(tt.meta)
			if err != nil {
				t.Fatalf("OpenSnapshot: %v", err)
			}
			defer rc.Close()
			if size != int64(tt.bytes) {
				t.Errorf("size = %d, want %d", size, tt.bytes)
			}
			h := sha256.New()
			n, err := io.Copy(h, rc)
			if err != nil {
				t.Fatalf("io.Copy: %v", err)
			}
			if n != int64(tt.bytes) {
				t.Errorf("read %d bytes, want %d", n, tt.bytes)
			}
			if got, want := h.Sum(nil), sha256.Sum256(data); !bytes.Equal(got, want[:]) {
				t.Errorf("payload sha256 = %x, want %x", got, want)
			}
			// Reads after the end keep returning io.EOF.
			if n, err := rc.Read(make([]byte, 10)); n != 0 || err != io.EOF {
				t.Errorf("Read after end = %d, %v; want 0, EOF", n, err)
			}
			if names := dirNames(t, dir); len(names) != 1 || names[0] != fileName(tt.meta.Term, tt.meta.Index) {
				t.Errorf("directory holds %q, want just %q", names, fileName(tt.meta.Term, tt.meta.Index))
			}
		})
	}
}

func seq(n int) []uint64 {
	s := make([]uint64, n)
	for i := range s {
		s[i] = uint64(i + 1)
	}
	return s
}

// TestReopen checks that a snapshot survives closing and reopening the
// store (nothing is kept only in memory).
func TestReopen(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	meta := raft.SnapshotMeta{Index: 42, Term: 3, Voters: []uint64{1, 2, 3}}
	data := payload(1, 12345)
	writeSnap(t, s, meta, data)

	s2, _ := openStore(t, dir, 0)
	got, ok, err := s2.Latest()
	if err != nil || !ok || !metaEqual(got, meta) {
		t.Fatalf("Latest() after reopen = %+v, %t, %v; want %+v, true, nil", got, ok, err, meta)
	}
	read, err := readSnap(t, s2, meta)
	if err != nil || !bytes.Equal(read, data) {
		t.Fatalf("payload after reopen: %d bytes, err %v; want %d bytes, nil", len(read), err, len(data))
	}
}

func TestCreateCopiesVoters(t *testing.T) {
	s, _ := openStore(t, t.TempDir(), 0)
	voters := []uint64{1, 2, 3}
	w, err := s.Create(raft.SnapshotMeta{Index: 1, Term: 1, Voters: voters})
	if err != nil {
		t.Fatal(err)
	}
	voters[0] = 99
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	got, _, _ := s.Latest()
	if want := []uint64{1, 2, 3}; !slices.Equal(got.Voters, want) {
		t.Errorf("voters = %v, want %v", got.Voters, want)
	}
}

func TestAbortLeavesNoFile(t *testing.T) {
	tests := []struct {
		name  string
		bytes int
	}{
		{"nothing written", 0},
		{"some written", 1000},
		{"beyond the buffer", 3 * writeBufferBytes},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			w, err := s.Create(raft.SnapshotMeta{Index: 10, Term: 2})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := w.Write(payload(uint64(i), tt.bytes)); err != nil {
				t.Fatal(err)
			}
			if err := w.Abort(); err != nil {
				t.Fatalf("Abort: %v", err)
			}
			if names := dirNames(t, dir); len(names) != 0 {
				t.Errorf("directory holds %q after Abort, want nothing", names)
			}
			if _, ok, err := s.Latest(); ok || err != nil {
				t.Errorf("Latest() ok=%t err=%v after Abort, want false, nil", ok, err)
			}
			if err := w.Abort(); err != nil {
				t.Errorf("second Abort = %v, want nil", err)
			}
			if _, err := w.Write([]byte("x")); !errors.Is(err, ErrFinished) {
				t.Errorf("Write after Abort = %v, want ErrFinished", err)
			}
			if err := w.Commit(); !errors.Is(err, ErrFinished) {
				t.Errorf("Commit after Abort = %v, want ErrFinished", err)
			}
		})
	}
}

func TestFinishedWriter(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	meta := raft.SnapshotMeta{Index: 3, Term: 1}
	w, err := s.Create(meta)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write([]byte("state")); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); !errors.Is(err, ErrFinished) {
		t.Errorf("second Commit = %v, want ErrFinished", err)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, ErrFinished) {
		t.Errorf("Write after Commit = %v, want ErrFinished", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v, want nil", err)
	}
	data, err := readSnap(t, s, meta)
	if err != nil || string(data) != "state" {
		t.Errorf("payload after Abort-after-Commit = %q, %v; want %q, nil", data, err, "state")
	}
}

func TestDuplicateSnapshot(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	meta := raft.SnapshotMeta{Index: 8, Term: 2}

	// Two writers for the same meta: the first Commit wins, the second
	// fails and leaves nothing behind.
	w1, err := s.Create(meta)
	if err != nil {
		t.Fatal(err)
	}
	w2, err := s.Create(meta)
	if err != nil {
		t.Fatal(err)
	}
	w1.Write([]byte("first"))
	w2.Write([]byte("second"))
	if err := w1.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w2.Commit(); !errors.Is(err, fs.ErrExist) {
		t.Errorf("second Commit of the same meta = %v, want fs.ErrExist", err)
	}
	if names := dirNames(t, dir); len(names) != 1 {
		t.Errorf("directory holds %q, want one snapshot", names)
	}
	if data, err := readSnap(t, s, meta); err != nil || string(data) != "first" {
		t.Errorf("payload = %q, %v; want %q, nil", data, err, "first")
	}
	// Create itself refuses once the snapshot exists.
	if _, err := s.Create(meta); !errors.Is(err, fs.ErrExist) {
		t.Errorf("Create of an existing meta = %v, want fs.ErrExist", err)
	}
}

func TestOpenRemovesTempFiles(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	done := raft.SnapshotMeta{Index: 10, Term: 1, Voters: []uint64{1}}
	data := payload(3, 5000)
	writeSnap(t, s, done, data)

	// A crash while writing: the writer's temporary file stays behind.
	w, err := s.Create(raft.SnapshotMeta{Index: 20, Term: 2})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(payload(4, 3*writeBufferBytes)); err != nil {
		t.Fatal(err)
	}
	w.bw.Flush()
	w.f.Close() // the process dies: no Commit, no Abort
	// A crash after the file was complete but before the rename.
	w2, err := s.Create(raft.SnapshotMeta{Index: 30, Term: 2})
	if err != nil {
		t.Fatal(err)
	}
	w2.Write([]byte("almost"))
	if err := w2.complete(); err != nil {
		t.Fatal(err)
	}
	w2.f.Close()
	// A file that is not ours.
	other := filepath.Join(dir, "notes.txt")
	if err := os.WriteFile(other, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	tmps := 0
	for _, name := range dirNames(t, dir) {
		if strings.HasSuffix(name, tmpSuffix) {
			tmps++
		}
	}
	if tmps != 2 {
		t.Fatalf("%d temporary files before reopening, want 2: %q", tmps, dirNames(t, dir))
	}
	// Before the restart, the unfinished snapshots are invisible.
	if got, _, _ := s.Latest(); !metaEqual(got, done) {
		t.Errorf("Latest() with temporary files = %+v, want %+v", got, done)
	}

	s2, logs := openStore(t, dir, 0)
	want := []string{fileName(done.Term, done.Index), "notes.txt"}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("directory after Open = %q, want %q", got, want)
	}
	if got, ok, err := s2.Latest(); err != nil || !ok || !metaEqual(got, done) {
		t.Errorf("Latest() after Open = %+v, %t, %v; want %+v, true, nil", got, ok, err, done)
	}
	if got, err := readSnap(t, s2, done); err != nil || !bytes.Equal(got, data) {
		t.Errorf("complete snapshot after Open: %d bytes, %v; want %d bytes, nil", len(got), err, len(data))
	}
	if n := strings.Count(logs.String(), "removed unfinished snapshot"); n != 2 {
		t.Errorf("logged %d removals, want 2; log:\n%s", n, logs)
	}
}

func TestKeepPrunes(t *testing.T) {
	tests := []struct {
		keep      int
		snapshots int
		wantKept  int
	}{
		{keep: 1, snapshots: 5, wantKept: 1},
		{keep: 2, snapshots: 5, wantKept: 2},
		{keep: 3, snapshots: 2, wantKept: 2},
		{keep: 0, snapshots: 4, wantKept: DefaultKeep},
		{keep: 5, snapshots: 5, wantKept: 5},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("keep=%d/snapshots=%d", tt.keep, tt.snapshots), func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, tt.keep)
			var metas []raft.SnapshotMeta
			for i := range tt.snapshots {
				m := raft.SnapshotMeta{Index: uint64(100 * (i + 1)), Term: uint64(1 + i/2), Voters: []uint64{1, 2, 3}}
				metas = append(metas, m)
				writeSnap(t, s, m, payload(uint64(i), 100+i))
			}
			var want []string
			for _, m := range metas[len(metas)-tt.wantKept:] {
				want = append(want, fileName(m.Term, m.Index))
			}
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("directory = %q, want %q", got, want)
			}
			list, err := s.List()
			if err != nil {
				t.Fatal(err)
			}
			if len(list) != tt.wantKept || !metaEqual(list[0], metas[len(metas)-1]) {
				t.Errorf("List() = %+v, want the %d newest, newest first", list, tt.wantKept)
			}
			for _, m := range metas[len(metas)-tt.wantKept:] {
				if _, err := readSnap(t, s, m); err != nil {
					t.Errorf("reading kept snapshot %+v: %v", m, err)
				}
			}
		})
	}
}

// TestCommitKeepsItself: committing a snapshot older than the kept ones
// does not remove it at once.
func TestCommitKeepsItself(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 1)
	newer := raft.SnapshotMeta{Index: 20, Term: 2}
	older := raft.SnapshotMeta{Index: 10, Term: 1}
	writeSnap(t, s, newer, []byte("newer"))
	writeSnap(t, s, older, []byte("older"))
	want := []string{fileName(older.Term, older.Index), fileName(newer.Term, newer.Index)}
	if got := dirNames(t, dir); !slices.Equal(got, want) {
		t.Errorf("directory = %q, want %q", got, want)
	}
	if got, _, _ := s.Latest(); !metaEqual(got, newer) {
		t.Errorf("Latest() = %+v, want %+v", got, newer)
	}
	// The next newer commit prunes both beyond Keep.
	newest := raft.SnapshotMeta{Index: 30, Term: 2}
	writeSnap(t, s, newest, []byte("newest"))
	if got, want := dirNames(t, dir), []string{fileName(newest.Term, newest.Index)}; !slices.Equal(got, want) {
		t.Errorf("directory = %q, want %q", got, want)
	}
}

// corruptions damage a snapshot file so that its header or size no longer
// validates.
var corruptions = []struct {
	name string
	fn   func(b []byte) []byte
}{
	{"flipped index byte", func(b []byte) []byte { b[15] ^= 0x01; return b }},
	{"flipped header checksum", func(b []byte) []byte { b[headerSize(3)-1] ^= 0x80; return b }},
	{"flipped voter byte", func(b []byte) []byte { b[headerFixedBytes+3] ^= 0x10; return b }},
	{"bad magic", func(b []byte) []byte { copy(b, "XXSNAP01"); return b }},
	{"empty", func(b []byte) []byte { return b[:0] }},
	{"truncated in fixed header", func(b []byte) []byte { return b[:20] }},
	{"truncated in voters", func(b []byte) []byte { return b[:headerFixedBytes+10] }},
	{"header only", func(b []byte) []byte { return b[:headerSize(3)] }},
	{"truncated in payload", func(b []byte) []byte { return b[:len(b)/2] }},
	{"truncated in trailer", func(b []byte) []byte { return b[:len(b)-1] }},
	{"extra byte", func(b []byte) []byte { return append(b, 0) }},
	{"payload length too small", func(b []byte) []byte {
		return rewriteHeader(b, func(h *header) { h.payloadBytes-- })
	}},
	{"payload length huge", func(b []byte) []byte {
		return rewriteHeader(b, func(h *header) { h.payloadBytes = 1<<64 - 1 })
	}},
	{"header of another snapshot", func(b []byte) []byte {
		return rewriteHeader(b, func(h *header) { h.meta.Index-- })
	}},
	{"all zeros", func(b []byte) []byte { clear(b); return b }},
}

// rewriteHeader changes b's header with a valid checksum.
func rewriteHeader(b []byte, fn func(*header)) []byte {
	h, n, err := decodeHeader(b)
	if err != nil {
		panic(err)
	}
	fn(&h)
	return append(appendHeader(nil, h), b[n:]...)
}

func TestLatestSkipsCorruptNewest(t *testing.T) {
	for _, c := range corruptions {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			s, logs := openStore(t, dir, 2)
			voters := []uint64{1, 2, 3}
			older := raft.SnapshotMeta{Index: 10, Term: 1, Voters: voters}
			newer := raft.SnapshotMeta{Index: 20, Term: 2, Voters: voters}
			olderData := payload(1, 70000)
			writeSnap(t, s, older, olderData)
			writeSnap(t, s, newer, payload(2, 70000))

			path := snapPath(dir, newer.Term, newer.Index)
			orig, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			bad := c.fn(slices.Clone(orig))
			if err := os.WriteFile(path, bad, 0o644); err != nil {
				t.Fatal(err)
			}

			got, ok, err := s.Latest()
			if err != nil || !ok || !metaEqual(got, older) {
				t.Fatalf("Latest() = %+v, %t, %v; want %+v, true, nil", got, ok, err, older)
			}
			if !strings.Contains(logs.String(), fileName(newer.Term, newer.Index)) {
				t.Errorf("corrupt file not named in the log:\n%s", logs)
			}
			if list, err := s.List(); err != nil || len(list) != 1 || !metaEqual(list[0], older) {
				t.Errorf("List() = %+v, %v; want just %+v", list, err, older)
			}
			if _, _, err := s.OpenSnapshot(newer); !errors.Is(err, ErrCorrupt) {
				t.Errorf("OpenSnapshot(corrupt) error = %v, want ErrCorrupt", err)
			}
			if data, err := readSnap(t, s, older); err != nil || !bytes.Equal(data, olderData) {
				t.Errorf("older snapshot: %d bytes, %v; want %d bytes, nil", len(data), err, len(olderData))
			}

			// Commits and pruning leave the corrupt file alone: it is not
			// counted among the kept snapshots and never removed.
			s2, _ := openStore(t, dir, 2)
			for _, idx := range []uint64{30, 40} {
				writeSnap(t, s2, raft.SnapshotMeta{Index: idx, Term: 3}, []byte("x"))
			}
			want := []string{fileName(newer.Term, newer.Index), fileName(3, 30), fileName(3, 40)}
			if got := dirNames(t, dir); !slices.Equal(got, want) {
				t.Errorf("directory after two commits = %q, want %q", got, want)
			}
			after, err := os.ReadFile(path)
			if err != nil || !bytes.Equal(after, bad) {
				t.Errorf("corrupt file changed (err %v)", err)
			}
		})
	}
}

func TestLatestAllCorrupt(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	meta := raft.SnapshotMeta{Index: 5, Term: 1}
	writeSnap(t, s, meta, []byte("data"))
	if err := os.Truncate(snapPath(dir, meta.Term, meta.Index), 10); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.Latest(); ok || err != nil {
		t.Errorf("Latest() = %+v, %t, %v; want ok=false, nil", got, ok, err)
	}
}

func TestLatestEmpty(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	// Files that are not snapshots are ignored.
	for _, name := range []string{"README", "0000000000000001-0000000000000002.snap.bak", "1-2.snap", "000000000000000G-0000000000000002.snap"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("x"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, fileName(9, 9)), 0o755); err != nil {
		t.Fatal(err)
	}
	got, ok, err := s.Latest()
	if ok || err != nil {
		t.Errorf("Latest() = %+v, %t, %v; want ok=false, nil", got, ok, err)
	}
	if list, err := s.List(); len(list) != 0 || err != nil {
		t.Errorf("List() = %+v, %v; want empty, nil", list, err)
	}
	if _, _, err := s.OpenSnapshot(raft.SnapshotMeta{Index: 1, Term: 1}); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("OpenSnapshot(missing) = %v, want fs.ErrNotExist", err)
	}
}

func TestFlippedPayloadByte(t *testing.T) {
	const size = 3*readBufferBytes + 17
	tests := []struct {
		name string
		off  func(hdr int) int // offset of the flipped byte
	}{
		{"first payload byte", func(hdr int) int { return hdr }},
		{"middle", func(hdr int) int { return hdr + size/2 }},
		{"last payload byte", func(hdr int) int { return hdr + size - 1 }},
		{"trailer", func(hdr int) int { return hdr + size + 2 }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			meta := raft.SnapshotMeta{Index: 7, Term: 2, Voters: []uint64{4, 5}}
			writeSnap(t, s, meta, payload(9, size))
			path := snapPath(dir, meta.Term, meta.Index)
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			b[tt.off(headerSize(len(meta.Voters)))] ^= 0x04
			if err := os.WriteFile(path, b, 0o644); err != nil {
				t.Fatal(err)
			}

			// The header is intact, so Latest still offers the snapshot;
			// the damage shows on reading.
			if got, ok, err := s.Latest(); !ok || err != nil || !metaEqual(got, meta) {
				t.Errorf("Latest() = %+v, %t, %v; want %+v", got, ok, err, meta)
			}
			if _, err := readSnap(t, s, meta); !errors.Is(err, ErrCorrupt) {
				t.Errorf("io.ReadAll error = %v, want ErrCorrupt", err)
			}

			// Read by Read: io.EOF is never returned, and the mismatch is
			// reported no later than the Read after the last byte.
			rc, _, err := s.OpenSnapshot(meta)
			if err != nil {
				t.Fatal(err)
			}
			defer rc.Close()
			buf := make([]byte, 10000)
			total := 0
			for {
				n, err := rc.Read(buf)
				total += n
				if err == nil {
					continue
				}
				if !errors.Is(err, ErrCorrupt) {
					t.Fatalf("Read error after %d bytes = %v, want ErrCorrupt", total, err)
				}
				break
			}
			if total != size {
				t.Errorf("ErrCorrupt after %d bytes, want after all %d", total, size)
			}
			if _, err := rc.Read(buf); !errors.Is(err, ErrCorrupt) {
				t.Errorf("Read after ErrCorrupt = %v, want ErrCorrupt again", err)
			}
		})
	}
}

func TestTruncatedFile(t *testing.T) {
	const size = 100000
	meta := raft.SnapshotMeta{Index: 70, Term: 5, Voters: []uint64{1, 2, 3}}
	hdr := headerSize(len(meta.Voters))
	for _, keep := range []int{0, 1, 20, headerFixedBytes, hdr - 1, hdr, hdr + 1, hdr + size/2, hdr + size, hdr + size + trailerBytes - 1} {
		t.Run(fmt.Sprintf("%d bytes", keep), func(t *testing.T) {
			dir := t.TempDir()
			s, _ := openStore(t, dir, 0)
			writeSnap(t, s, meta, payload(5, size))
			if err := os.Truncate(snapPath(dir, meta.Term, meta.Index), int64(keep)); err != nil {
				t.Fatal(err)
			}
			if rc, _, err := s.OpenSnapshot(meta); !errors.Is(err, ErrCorrupt) {
				if rc != nil {
					rc.Close()
				}
				t.Errorf("OpenSnapshot of a file truncated to %d bytes: err = %v, want ErrCorrupt", keep, err)
			}
			if _, ok, err := s.Latest(); ok || err != nil {
				t.Errorf("Latest() ok=%t err=%v, want false, nil", ok, err)
			}
		})
	}
}

// TestTruncatedWhileReading: a file that shrinks after it was opened is
// reported as corrupt, not as a clean end.
func TestTruncatedWhileReading(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	meta := raft.SnapshotMeta{Index: 70, Term: 5}
	const size = 4 * readBufferBytes
	writeSnap(t, s, meta, payload(5, size))
	rc, _, err := s.OpenSnapshot(meta)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	if err := os.Truncate(snapPath(dir, meta.Term, meta.Index), size/2); err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(io.Discard, rc); !errors.Is(err, ErrCorrupt) || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("reading a shrunk file: err = %v, want ErrCorrupt and io.ErrUnexpectedEOF", err)
	}
}

func TestReaderSurvivesPrune(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 1)
	old := raft.SnapshotMeta{Index: 1, Term: 1}
	data := payload(8, 2*readBufferBytes)
	writeSnap(t, s, old, data)
	rc, _, err := s.OpenSnapshot(old)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	writeSnap(t, s, raft.SnapshotMeta{Index: 2, Term: 1}, []byte("new"))
	if _, err := os.Stat(snapPath(dir, old.Term, old.Index)); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("old snapshot not pruned: %v", err)
	}
	got, err := io.ReadAll(rc)
	if err != nil || !bytes.Equal(got, data) {
		t.Errorf("reading a pruned snapshot: %d bytes, %v; want %d bytes, nil", len(got), err, len(data))
	}
}

func TestReaderClose(t *testing.T) {
	s, _ := openStore(t, t.TempDir(), 0)
	meta := raft.SnapshotMeta{Index: 1, Term: 1}
	writeSnap(t, s, meta, []byte("abc"))
	rc, _, err := s.OpenSnapshot(meta)
	if err != nil {
		t.Fatal(err)
	}
	if err := rc.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, err := rc.Read(make([]byte, 1)); err == nil || err == io.EOF {
		t.Errorf("Read after Close = %v, want an error", err)
	}
}

func TestOpenOptions(t *testing.T) {
	if _, err := Open(t.TempDir(), Options{Keep: -1}); err == nil {
		t.Error("Open with Keep -1 succeeded, want an error")
	}
	dir := filepath.Join(t.TempDir(), "a", "b", "snap")
	s, err := Open(dir, Options{})
	if err != nil {
		t.Fatalf("Open of a new nested directory: %v", err)
	}
	if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
		t.Fatalf("directory not created: %v", err)
	}
	if s.keep != DefaultKeep || s.Dir() != dir {
		t.Errorf("keep = %d, dir = %q; want %d, %q", s.keep, s.Dir(), DefaultKeep, dir)
	}
	// A path that is a file cannot be a store.
	file := filepath.Join(t.TempDir(), "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Open(file, Options{}); err == nil {
		t.Error("Open of a regular file succeeded, want an error")
	}
}

func TestCreateTooManyVoters(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	if _, err := s.Create(raft.SnapshotMeta{Index: 1, Term: 1, Voters: seq(MaxVoters + 1)}); err == nil {
		t.Error("Create with MaxVoters+1 voters succeeded, want an error")
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q, want nothing", names)
	}
}

// TestConcurrent runs writers, readers and Latest callers together (run it
// with -race).
func TestConcurrent(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 3)
	const writers, perWriter = 4, 5
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for g := range writers {
		wg.Go(func() {
			for i := range perWriter {
				idx := uint64(1 + g + writers*i)
				meta := raft.SnapshotMeta{Index: idx, Term: 1, Voters: []uint64{1, 2, 3}}
				w, err := s.Create(meta)
				if err != nil {
					errs <- err
					return
				}
				w.Write(payload(idx, 50000+int(idx)))
				if i%3 == 2 {
					w.Abort()
					continue
				}
				if err := w.Commit(); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			for range 30 {
				meta, ok, err := s.Latest()
				if err != nil {
					errs <- err
					return
				}
				if !ok {
					continue
				}
				rc, size, err := s.OpenSnapshot(meta)
				if errors.Is(err, fs.ErrNotExist) {
					continue // pruned between Latest and OpenSnapshot
				}
				if err != nil {
					errs <- err
					return
				}
				got, err := io.ReadAll(rc)
				rc.Close()
				if err != nil || int64(len(got)) != size || !bytes.Equal(got, payload(meta.Index, int(size))) {
					errs <- fmt.Errorf("snapshot %d: %d bytes, %v", meta.Index, len(got), err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	if names := dirNames(t, dir); len(names) > 3+writers || len(names) < 3 {
		t.Errorf("directory holds %d files, want 3 to %d: %q", len(names), 3+writers, names)
	}
	for _, name := range dirNames(t, dir) {
		if strings.HasSuffix(name, tmpSuffix) {
			t.Errorf("temporary file %s left behind", name)
		}
	}
}

// TestLatestPicksHighestIndex: the order comes from the index, not from the
// file name (which sorts by term first).
func TestLatestPicksHighestIndex(t *testing.T) {
	s, _ := openStore(t, t.TempDir(), 5)
	high := raft.SnapshotMeta{Index: 20, Term: 3}
	writeSnap(t, s, raft.SnapshotMeta{Index: 10, Term: 5}, []byte("a"))
	writeSnap(t, s, high, []byte("b"))
	writeSnap(t, s, raft.SnapshotMeta{Index: 15, Term: 4}, []byte("c"))
	if got, ok, err := s.Latest(); err != nil || !ok || !metaEqual(got, high) {
		t.Errorf("Latest() = %+v, %t, %v; want %+v", got, ok, err, high)
	}
	list, err := s.List()
	if err != nil {
		t.Fatal(err)
	}
	var idx []uint64
	for _, m := range list {
		idx = append(idx, m.Index)
	}
	if want := []uint64{20, 15, 10}; !slices.Equal(idx, want) {
		t.Errorf("List() indexes = %v, want %v", idx, want)
	}
}

// TestWriteErrorRemovesTemp: after a write error, Commit fails and leaves
// nothing behind.
func TestWriteErrorRemovesTemp(t *testing.T) {
	dir := t.TempDir()
	s, _ := openStore(t, dir, 0)
	w, err := s.Create(raft.SnapshotMeta{Index: 1, Term: 1})
	if err != nil {
		t.Fatal(err)
	}
	w.f.Close() // the disk goes away under the writer
	if _, err := w.Write(make([]byte, 2*writeBufferBytes)); err == nil {
		t.Fatal("Write to a closed file succeeded")
	}
	if _, err := w.Write([]byte("x")); err == nil {
		t.Error("Write after a write error succeeded, want the same error")
	}
	if err := w.Commit(); err == nil {
		t.Error("Commit after a write error succeeded")
	}
	if names := dirNames(t, dir); len(names) != 0 {
		t.Errorf("directory holds %q after a failed Commit, want nothing", names)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after a failed Commit = %v, want nil", err)
	}
}
