package workloads

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"unsafe"

	"github.com/raftbench/raftbench/raft/node"
	"github.com/tidwall/btree"
)

// Defaults of KVConfig.
const (
	DefaultSessionTTLEntries = 1 << 20
	DefaultMaxSessions       = 1 << 16
)

// ErrStale is the error of a command whose sequence number is older than
// the last one its client's session applied.
var ErrStale = errors.New("workloads: stale sequence number")

// KVConfig configures a KV. Every replica of a cluster must use the same
// values: they decide which sessions exist, which is part of the replicated
// state.
type KVConfig struct {
	// SessionTTLEntries drops a session that no applied entry used for
	// this many log indexes (0: DefaultSessionTTLEntries).
	SessionTTLEntries uint64
	// MaxSessions bounds the session table; the least recently used
	// session goes first (0: DefaultMaxSessions).
	MaxSessions int
}

// Result is what Apply returns for a command (as an any holding a
// *Result). Results are shared (a retry gets the very same *Result, and
// common answers are package-level values): never modify one.
type Result struct {
	// Value is the value a get read (read-only; nil otherwise).
	Value []byte
	// Found: get and delete found the key; put replaced an existing value.
	Found bool
	// Err is ErrStale for a stale sequence number, or wraps ErrMalformed
	// for an entry that is not a command. Results stored in sessions
	// never carry an error.
	Err error
}

var (
	resultFound    = &Result{Found: true}
	resultNotFound = &Result{}
	resultStale    = &Result{Err: ErrStale}
)

// entry is one key and its value. Both are immutable once in the tree,
// and share one allocation: data points at the key, the value follows.
//
// prefix holds the key's first 16 bytes, big-endian and zero-padded, so
// that the tree's binary searches compare keys of up to 16 bytes (the
// generators' keys are 11) without following the key's pointer: a
// search of a large tree was bound by those cache misses, not by the
// compares.
//
// The entry is four machine words, not two slices (eight): the tree's
// searches pass two entries by value to the comparison for every probe,
// and four words each go in registers where eight were copied through
// the stack; the tree's nodes are half as large, too. BenchmarkKVGet
// 573 -> 428 ns, BenchmarkApplyPut/clients=1000 1.29 -> 0.92 us,
// BenchmarkSnapshotThenPut 41-56% less (medians of 6).
type entry struct {
	p0, p1 uint64         // the key's prefix
	data   unsafe.Pointer // the key's first byte, the value after the key
	lens   uint64         // key length << 32 | value length
}

// newEntry returns the entry of key and value, which must be one
// allocation: value directly after key.
func newEntry(kv []byte, keyLen int) entry {
	e := keyEntry(kv[:keyLen])
	e.lens |= uint64(len(kv) - keyLen)
	return e
}

// keyEntry returns the entry that searches for key.
func keyEntry(key []byte) entry {
	e := entry{data: unsafe.Pointer(unsafe.SliceData(key)), lens: uint64(len(key)) << 32}
	if len(key) >= 16 {
		e.p0 = binary.BigEndian.Uint64(key)
		e.p1 = binary.BigEndian.Uint64(key[8:])
		return e
	}
	var b [16]byte
	copy(b[:], key)
	e.p0 = binary.BigEndian.Uint64(b[:])
	e.p1 = binary.BigEndian.Uint64(b[8:])
	return e
}

func (e entry) keyLen() int { return int(e.lens >> 32) }

func (e entry) valueLen() int { return int(uint32(e.lens)) }

// all is the key and the value, one slice.
func (e entry) all() []byte {
	return unsafe.Slice((*byte)(e.data), e.keyLen()+e.valueLen())
}

func (e entry) key() []byte { k := e.keyLen(); return e.all()[:k:k] }

func (e entry) value() []byte { return e.all()[e.keyLen():] }

// entryLess orders entries as bytes.Compare orders their keys. Equal
// prefixes leave two cases: keys of at most 16 bytes then differ only by
// trailing zero bytes, where the shorter key is the smaller; longer keys
// are compared whole.
func entryLess(a, b entry) bool {
	if a.p0 != b.p0 {
		return a.p0 < b.p0
	}
	if a.p1 != b.p1 {
		return a.p1 < b.p1
	}
	if a.keyLen() > 16 || b.keyLen() > 16 {
		return bytes.Compare(a.key(), b.key()) < 0
	}
	return a.keyLen() < b.keyLen()
}

func newTree() *btree.BTreeG[entry] {
	// The KV's own mutex guards the live tree; the tree's lock would only
	// add a second one to every operation. Degree 64 against the library's
	// 32: shallower trees, fewer cache misses per search (BenchmarkKVGet
	// 351 -> 313 ns, BenchmarkApplyPut/clients=1000 788 -> 681 ns), for a
	// costlier first write into each node after a snapshot (the node copied
	// is twice as large: BenchmarkSnapshotThenPut 6.2 -> 8.8 us), which a
	// snapshot interval pays once per node. End to end, 3 nodes at 1024
	// clients: +5% writes, +3-6% with 95% reads (alternating pairs).
	return btree.NewBTreeGOptions(entryLess, btree.Options{NoLocks: true, Degree: 64})
}

// KV is a replicated key-value state machine: byte keys and values in an
// ordered copy-on-write B-tree, with client sessions for exactly-once
// writes. Apply, Snapshot and Restore are for one goroutine (the node's
// apply goroutine); Get, Len and Applied may be called from any goroutine.
type KV struct {
	ttlEntries  uint64
	maxSessions int

	mu       sync.RWMutex // guards the fields below against Get
	tree     *btree.BTreeG[entry]
	sessions sessions
	applied  uint64 // index of the last applied entry
}

var _ node.StateMachine = (*KV)(nil)

// NewKV returns an empty KV.
func NewKV(cfg KVConfig) *KV {
	if cfg.SessionTTLEntries == 0 {
		cfg.SessionTTLEntries = DefaultSessionTTLEntries
	}
	if cfg.MaxSessions <= 0 {
		cfg.MaxSessions = DefaultMaxSessions
	}
	return &KV{
		ttlEntries:  cfg.SessionTTLEntries,
		maxSessions: cfg.MaxSessions,
		tree:        newTree(),
		sessions:    newSessions(),
	}
}

// Apply applies the entry at index and returns its *Result. Indexes must
// increase from call to call (a programmer error otherwise: it panics).
//
// With a ClientID other than 0, the command goes through the client's
// session: a sequence number equal to the session's last is a retry and
// gets the first result without being applied again; an older one gets
// ErrStale; a newer one (or the client's first) is applied and becomes
// the session's last. Sessions expire as the package doc describes.
func (kv *KV) Apply(index uint64, data []byte) any {
	kv.mu.Lock()
	defer kv.mu.Unlock()
	if index <= kv.applied {
		panic(fmt.Sprintf("workloads: Apply(%d) after index %d", index, kv.applied))
	}
	kv.applied = index
	kv.sessions.expire(index, kv.ttlEntries, kv.maxSessions)

	c, err := DecodeCommand(data)
	if err != nil {
		return &Result{Err: err}
	}
	if c.ClientID == 0 {
		return kv.exec(c)
	}
	s, ok := kv.sessions.get(c.ClientID)
	switch {
	case ok && c.Seq == s.seq:
		s.lastIndex = index
		kv.sessions.put(s)
		return s.result
	case ok && c.Seq < s.seq:
		return resultStale
	}
	res := kv.exec(c)
	kv.sessions.put(session{client: c.ClientID, seq: c.Seq, lastIndex: index, result: res})
	if kv.sessions.len() > kv.maxSessions {
		kv.sessions.expire(index, kv.ttlEntries, kv.maxSessions)
	}
	return res
}

func (kv *KV) exec(c Command) *Result {
	switch c.Op {
	case OpPut:
		// Key and value alias the log entry: copy both into one
		// allocation the tree owns.
		buf := make([]byte, len(c.Key)+len(c.Value))
		n := copy(buf, c.Key)
		copy(buf[n:], c.Value)
		if _, replaced := kv.tree.Set(newEntry(buf, n)); replaced {
			return resultFound
		}
		return resultNotFound
	case OpGet:
		if e, ok := kv.tree.Get(keyEntry(c.Key)); ok {
			return &Result{Value: e.value(), Found: true}
		}
		return resultNotFound
	case OpDelete:
		if _, ok := kv.tree.Delete(keyEntry(c.Key)); ok {
			return resultFound
		}
		return resultNotFound
	}
	panic("workloads: exec of an unchecked op " + c.Op.String())
}

// Get returns the value of key in the live state, for reads that do not go
// through the log (after a ReadIndex or lease read, or stale reads). The
// value is shared with the state machine: read it, never modify it. Safe
// to call concurrently with Apply.
func (kv *KV) Get(key []byte) ([]byte, bool) {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return kv.GetInApply(key)
}

// GetInApply is Get for the goroutine that applies (a node's read callback
// runs there once the read point is applied): nothing else changes the
// state, so it takes no lock. Two atomic adds per read on a lock word
// that the applying goroutine also writes were 3% of a read-heavy run's
// CPU. From any other goroutine, use Get.
func (kv *KV) GetInApply(key []byte) ([]byte, bool) {
	e, ok := kv.tree.Get(keyEntry(key))
	if !ok {
		return nil, false
	}
	return e.value(), true
}

// Len returns the number of keys.
func (kv *KV) Len() int {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return kv.tree.Len()
}

// Sessions returns the number of client sessions.
func (kv *KV) Sessions() int {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return kv.sessions.len()
}

// Applied returns the index of the last applied entry (or of the restored
// snapshot).
func (kv *KV) Applied() uint64 {
	kv.mu.RLock()
	defer kv.mu.RUnlock()
	return kv.applied
}

// Snapshot returns a frozen view of the state in O(1): a copy-on-write
// copy of the trees, whose shared nodes later Applies copy before changing
// them. The view may be written on another goroutine while Apply goes on.
func (kv *KV) Snapshot() (node.SnapshotView, error) {
	// Copy gives the live tree a new identity too, so it takes the write
	// lock.
	kv.mu.Lock()
	defer kv.mu.Unlock()
	return &snapshotView{tree: kv.tree.Copy(), sessions: kv.sessions.copy(), applied: kv.applied}, nil
}

// Restore replaces the whole state (keys, sessions, applied index) with a
// snapshot written by a view's WriteTo. On error the state is unchanged.
func (kv *KV) Restore(r io.Reader) error {
	tree, ss, applied, err := readSnapshot(r)
	if err != nil {
		return err
	}
	kv.mu.Lock()
	kv.tree, kv.sessions, kv.applied = tree, ss, applied
	kv.mu.Unlock()
	return nil
}
