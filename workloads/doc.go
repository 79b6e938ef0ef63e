// Package workloads holds what raftbench runs on a Raft cluster: a
// key-value state machine (KV) with copy-on-write snapshots and client
// sessions, its command encoding, and seeded request generators (key
// distributions, value sizes, read/write mix).
//
// # The KV state machine
//
// KV implements node.StateMachine. Keys and values are byte strings in an
// ordered B-tree (github.com/tidwall/btree) whose Copy is O(1) and lazy:
// Snapshot freezes the state by copying the tree, and the live tree copies
// a shared node before it changes it. The frozen view is therefore safe to
// serialize on another goroutine while Apply goes on, and a snapshot costs
// the same with ten thousand keys or a million. Apply, Snapshot and
// Restore are called from one goroutine; Get may be called from any, at
// any time (a read lock against Apply).
//
// Apply returns a *Result. Results are immutable and shared (a retried
// command receives the very *Result of its first application).
//
// # Command format
//
// One log entry is one command, little-endian, exactly this long:
//
//	offset  size  field
//	0       1     format version, 1
//	1       1     op: 1 put, 2 get, 3 delete
//	2       8     client id (0: no session)
//	10      8     sequence number
//	18      4     key length K, 1 <= K <= MaxKeyBytes
//	22      4     value length V, V <= MaxValueBytes; 0 unless put
//	26      K     key
//	26+K    V     value
//
// DecodeCommand rejects anything else with an error wrapping ErrMalformed;
// Apply answers such an entry with a Result carrying that error and
// changes nothing but the applied index (and the expiry of sessions).
//
// # Client sessions
//
// As in section 8 of the Raft paper, a client (non-zero client id) numbers
// its commands; the KV keeps, per client, the last sequence number it
// applied and that command's result:
//
//   - the same sequence number again is a retry: it is not applied again,
//     and gets the first result;
//   - a lower one is stale: it is not applied, and gets ErrStale;
//   - a higher one (gaps allowed), or the client's first command, is
//     applied and becomes the session's last.
//
// Client id 0 opts out: such commands are applied every time.
//
// Expiry depends only on the log, so every replica keeps the same
// sessions: a session's last use is the index of the last entry that
// applied or retried a command of that client (not a stale one). Before
// the entry at index i is applied, every session with i - lastUse >=
// KVConfig.SessionTTLEntries is dropped; after a new session is created,
// while there are more than KVConfig.MaxSessions sessions, the least
// recently used is dropped. Every replica must use the same KVConfig. A
// client whose session expired starts a new one with its next command; a
// retry that arrives after its session expired is applied again, so the
// TTL must exceed the clients' retry horizon (the default is 2^20
// entries).
//
// # Snapshot format
//
// Sessions are part of the state, so a replica restored from a snapshot
// answers retries exactly as the one that wrote it. Little-endian:
//
//	"rbkvsnap"               magic, 8 bytes
//	version    u32           1
//	applied    u64           index of the last applied entry
//	sessions   u64           count, then per session, by ascending last use:
//	  client u64, seq u64, lastUse u64,
//	  flags u8 (1: found, 2: has a value), value length u32, value
//	keys       u64           count, then per key, in ascending byte order:
//	  key length u32, value length u32, key, value
//	crc32c     u32           Castagnoli CRC of every byte before it
//
// Restore checks every length against MaxKeyBytes and MaxValueBytes, the
// order of sessions and keys, the checksum and the end of input; it
// returns an error wrapping ErrCorruptSnapshot, and leaves the state as it
// was, for anything else. Counts never size an allocation.
//
// # Generators
//
// A Generator yields Ops (read or write, key, value) from a seed:
// the same GeneratorConfig gives the same sequence. Keys are numbered in
// [0, Keys) by a KeyChooser (uniform, zipfian, sequential or hotspot) and
// formatted as "k%010d", so that byte order is numeric order. Next does
// not allocate: an Op's Key and Value point into the Generator's buffers
// and are valid until the next call. Values are prefixes of one seeded
// random buffer.
package workloads
