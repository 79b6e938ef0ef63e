package workloads

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/raftbench/raftbench/raft/node"
)

func TestSessionRetryAppliesOnce(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	k := []byte("k")
	first := a.apply(EncodePut(1, 1, k, []byte("v1")))
	// Another client changes the key; then client 1's retry arrives.
	a.apply(EncodePut(2, 1, k, []byte("v2")))
	retry := a.apply(EncodePut(1, 1, k, []byte("v1")))
	if retry != first {
		t.Fatalf("retry: got %p %+v, want the first result %p %+v", retry, retry, first, first)
	}
	if v, _ := a.kv.Get(k); string(v) != "v2" {
		t.Fatalf("retry was applied again: value %q, want \"v2\"", v)
	}

	// A retried get answers with the value it first read.
	got := a.apply(EncodeGet(3, 5, k))
	a.apply(EncodePut(0, 0, k, []byte("v3")))
	if again := a.apply(EncodeGet(3, 5, k)); again != got || string(again.Value) != "v2" {
		t.Fatalf("retried get: got %+v, want the first result {Value:v2}", again)
	}
	// A retried delete does not delete what was put since.
	a.apply(EncodeDelete(4, 1, k))
	a.apply(EncodePut(0, 0, k, []byte("v4")))
	if res := a.apply(EncodeDelete(4, 1, k)); !res.Found {
		t.Fatalf("retried delete: got %+v, want the first result (found)", res)
	}
	if v, ok := a.kv.Get(k); !ok || string(v) != "v4" {
		t.Fatalf("after retried delete: got (%q, %v), want (\"v4\", true)", v, ok)
	}
}

func TestSessionSequence(t *testing.T) {
	tests := []struct {
		name      string
		seqs      []uint64 // client 1's commands, each a put of "s<seq>"
		wantStale []bool
		wantValue string
	}{
		{"increasing", []uint64{1, 2, 3}, []bool{false, false, false}, "3"},
		{"gaps allowed", []uint64{1, 5, 9}, []bool{false, false, false}, "9"},
		{"older is stale", []uint64{1, 5, 3}, []bool{false, false, true}, "5"},
		{"stale then newer", []uint64{4, 2, 1, 6}, []bool{false, true, true, false}, "6"},
		{"first may be any", []uint64{100}, []bool{false}, "100"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &applier{t: t, kv: NewKV(KVConfig{})}
			for i, seq := range tt.seqs {
				res := a.apply(EncodePut(1, seq, []byte("k"), []byte{byte('0' + seq%10)}))
				if stale := errors.Is(res.Err, ErrStale); stale != tt.wantStale[i] {
					t.Fatalf("command %d (seq %d): got %+v, want stale=%v", i, seq, res, tt.wantStale[i])
				}
			}
			want := tt.wantValue[len(tt.wantValue)-1:]
			if v, _ := a.kv.Get([]byte("k")); string(v) != want {
				t.Fatalf("value: got %q, want %q", v, want)
			}
		})
	}
}

func TestSessionClientZeroHasNoSession(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	a.apply(EncodePut(0, 1, []byte("k"), []byte("a")))
	if res := a.apply(EncodeDelete(0, 1, []byte("k"))); !res.Found {
		t.Fatalf("client 0 delete with a repeated seq: got %+v, want it applied (found)", res)
	}
	if n := a.kv.Sessions(); n != 0 {
		t.Fatalf("Sessions: got %d, want 0", n)
	}
}

func TestSessionExpiry(t *testing.T) {
	const ttl = 10
	tests := []struct {
		name        string
		gap         uint64 // entries applied by others between client 1's command and its retry
		wantApplied bool   // the retry is applied again (session expired)
	}{
		{"retry within ttl", ttl - 2, false},
		{"retry at last moment", ttl - 1, false},
		{"retry after expiry", ttl, true},
		{"retry long after", 5 * ttl, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := &applier{t: t, kv: NewKV(KVConfig{SessionTTLEntries: ttl})}
			first := a.apply(EncodePut(1, 1, []byte("k"), []byte("v")))
			for range tt.gap - 1 {
				a.apply(EncodeGet(0, 0, []byte("other")))
			}
			// The retry is the entry at index gap+1: lastUse + gap.
			retry := a.apply(EncodePut(1, 1, []byte("k"), []byte("v")))
			if applied := retry != first; applied != tt.wantApplied {
				t.Fatalf("retry %d entries later: applied again = %v, want %v", tt.gap, applied, tt.wantApplied)
			}
		})
	}
}

func TestSessionRetryRefreshesExpiry(t *testing.T) {
	const ttl = 10
	a := &applier{t: t, kv: NewKV(KVConfig{SessionTTLEntries: ttl})}
	first := a.apply(EncodePut(1, 1, []byte("k"), []byte("v")))
	for range 3 {
		for range ttl - 2 {
			a.apply(EncodeGet(0, 0, []byte("other")))
		}
		if res := a.apply(EncodePut(1, 1, []byte("k"), []byte("v"))); res != first {
			t.Fatalf("retry within the ttl of the previous retry: got %+v, want the first result", res)
		}
	}
}

func TestSessionMaxSessions(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{MaxSessions: 3})}
	for c := uint64(1); c <= 5; c++ {
		a.apply(EncodePut(c, 1, []byte("k"), []byte("v")))
	}
	if n := a.kv.Sessions(); n != 3 {
		t.Fatalf("Sessions: got %d, want 3", n)
	}
	// Clients 1 and 2 were least recently used: gone. 3..5 remain.
	for c := uint64(1); c <= 5; c++ {
		_, ok := a.kv.sessions.get(c)
		if want := c >= 3; ok != want {
			t.Fatalf("session of client %d: present = %v, want %v", c, ok, want)
		}
	}
}

// randomLog returns n commands from few clients, with retries, stale
// sequence numbers, gets and deletes.
func randomLog(seed uint64, n int) [][]byte {
	rng := rand.New(rand.NewPCG(seed, 1))
	seqs := map[uint64]uint64{}
	log := make([][]byte, 0, n)
	for range n {
		client := rng.Uint64N(20)
		seq := seqs[client]
		switch r := rng.IntN(10); {
		case r < 6:
			seq++
		case r < 8: // retry
		default: // stale
			seq -= min(seq, 1)
		}
		if client != 0 && seq > seqs[client] {
			seqs[client] = seq
		}
		key := AppendKey(nil, rng.Uint64N(50))
		switch rng.IntN(3) {
		case 0:
			log = append(log, EncodePut(client, seq, key, key))
		case 1:
			log = append(log, EncodeGet(client, seq, key))
		default:
			log = append(log, EncodeDelete(client, seq, key))
		}
	}
	return log
}

// TestSessionsReplicasAgree: replicas applying the same log, one of them
// restored from a snapshot midway, end with the same state and sessions
// and give the same results.
func TestSessionsReplicasAgree(t *testing.T) {
	cfg := KVConfig{SessionTTLEntries: 40, MaxSessions: 12}
	log := randomLog(42, 3000)
	a := NewKV(cfg)
	b := NewKV(cfg)
	var c *KV
	for i, data := range log {
		index := uint64(i + 1)
		ra := a.Apply(index, data).(*Result)
		rb := b.Apply(index, data).(*Result)
		if i == 1500 {
			c = NewKV(cfg)
			if err := c.Restore(bytes.NewReader(serialize(t, b))); err != nil {
				t.Fatalf("Restore: %v", err)
			}
			continue
		}
		if c != nil {
			rc := c.Apply(index, data).(*Result)
			if !sameResult(rc, ra) {
				t.Fatalf("entry %d: restored replica answered %+v, want %+v", index, rc, ra)
			}
		}
		if !sameResult(ra, rb) {
			t.Fatalf("entry %d: replicas answered %+v and %+v", index, ra, rb)
		}
	}
	if a.Sessions() == 0 || a.Sessions() > cfg.MaxSessions {
		t.Fatalf("Sessions: got %d, want 1..%d", a.Sessions(), cfg.MaxSessions)
	}
	sa, sb, sc := serialize(t, a), serialize(t, b), serialize(t, c)
	if !bytes.Equal(sa, sb) || !bytes.Equal(sa, sc) {
		t.Fatal("replicas that applied the same log hold different states or sessions")
	}
}

func sameResult(a, b *Result) bool {
	return a.Found == b.Found && bytes.Equal(a.Value, b.Value) && (a.Value == nil) == (b.Value == nil) && errors.Is(a.Err, b.Err) && errors.Is(b.Err, a.Err)
}

func TestSessionsSurviveSnapshot(t *testing.T) {
	a := &applier{t: t, kv: NewKV(KVConfig{})}
	put := a.apply(EncodePut(1, 3, []byte("k"), []byte("v")))
	get := a.apply(EncodeGet(2, 7, []byte("k")))
	a.apply(EncodePut(0, 0, []byte("k"), []byte("changed")))

	b := &applier{t: t, kv: restored(t, serialize(t, a.kv)), index: a.index}
	tests := []struct {
		name string
		data []byte
		want *Result
	}{
		{"retried put", EncodePut(1, 3, []byte("k"), []byte("v")), put},
		{"retried get", EncodeGet(2, 7, []byte("k")), get},
		{"stale", EncodePut(1, 2, []byte("k"), []byte("v")), resultStale},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := b.apply(tt.data)
			if !sameResult(got, tt.want) {
				t.Fatalf("restored replica: got %+v, want %+v", got, tt.want)
			}
		})
	}
	if v, _ := b.kv.Get([]byte("k")); string(v) != "changed" {
		t.Fatalf("a retry on the restored replica was applied: value %q", v)
	}
}

// TestSessionUseQueueStaysBounded: with a long TTL, an idle session at the
// front of the use queue keeps the busy clients' stale records behind it;
// compaction keeps the queue near the number of sessions, and views taken
// before it stay intact.
func TestSessionUseQueueStaysBounded(t *testing.T) {
	cfg := KVConfig{SessionTTLEntries: 1 << 40}
	a := &applier{t: t, kv: NewKV(cfg)}
	ref := &applier{t: t, kv: NewKV(cfg)}
	type frozen struct {
		want []byte // the state at view time, serialized
		view node.SnapshotView
	}
	var views []frozen
	for i := range 20_000 {
		client := uint64(i%3 + 1)
		if i == 0 {
			client = 99 // then idle
		}
		data := EncodePut(client, uint64(i+1), AppendKey(nil, uint64(i%10)), []byte("v"))
		a.apply(data)
		ref.apply(data)
		if i%4999 == 0 {
			v, _ := a.kv.Snapshot()
			views = append(views, frozen{serialize(t, ref.kv), v})
		}
		if n, max := a.kv.sessions.uses.len(), 2*a.kv.Sessions()+2*useChunkLen+1; n > max {
			t.Fatalf("after %d entries: %d use records for %d sessions, want <= %d", i+1, n, a.kv.Sessions(), max)
		}
	}
	for i, v := range views {
		var buf bytes.Buffer
		if _, err := v.view.WriteTo(&buf); err != nil {
			t.Fatal(err)
		}
		v.view.Release()
		if !bytes.Equal(buf.Bytes(), v.want) {
			t.Fatalf("view %d changed after it was taken", i)
		}
	}
	if n := a.kv.Sessions(); n != 4 {
		t.Fatalf("Sessions: got %d, want 4", n)
	}
}
