package mem

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/sim"
	"github.com/raftbench/raftbench/raft/transport"
)

// The simulator's distributions are usable as link delays.
var (
	_ Dist = sim.Const(0)
	_ Dist = sim.Uniform{}
	_ Dist = sim.Exponential{}
)

type arrival struct {
	m  raft.Message
	at time.Time
}

// recorder is a Handler that keeps what it is given, with arrival times.
type recorder struct {
	mu       sync.Mutex
	got      []arrival
	inside   bool // a Deliver call is in progress
	overlaps int  // Deliver calls that started while another was running
	snap     func(m raft.Message, body io.Reader) error
}

func (r *recorder) Deliver(msgs []raft.Message) {
	r.mu.Lock()
	if r.inside {
		r.overlaps++
	}
	r.inside = true
	now := time.Now()
	for _, m := range msgs {
		r.got = append(r.got, arrival{m, now})
	}
	r.mu.Unlock()
	time.Sleep(time.Microsecond) // widen the window for overlap detection
	r.mu.Lock()
	r.inside = false
	r.mu.Unlock()
}

func (r *recorder) HandleSnapshot(m raft.Message, body io.Reader) error {
	if r.snap == nil {
		_, err := io.Copy(io.Discard, body)
		return err
	}
	return r.snap(m, body)
}

func (r *recorder) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.got)
}

func (r *recorder) arrivals() []arrival {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]arrival(nil), r.got...)
}

func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(time.Millisecond)
	}
}

// settle waits until nothing is in flight to any of eps.
func settle(t *testing.T, eps []*Endpoint) {
	t.Helper()
	waitFor(t, "the network to drain", 5*time.Second, func() bool {
		for _, e := range eps {
			if e.pending.Load() != 0 {
				return false
			}
		}
		return true
	})
}

// join attaches nodes 1..n and closes them when the test ends.
func join(t *testing.T, nw *Network, n int) ([]*Endpoint, []*recorder) {
	t.Helper()
	eps := make([]*Endpoint, n)
	recs := make([]*recorder, n)
	for i := range n {
		recs[i] = &recorder{}
		eps[i] = nw.Join(uint64(i+1), recs[i])
		t.Cleanup(func() { eps[i].Close() })
	}
	return eps, recs
}

func hb(from, to, i uint64) raft.Message {
	return raft.Message{Type: raft.MsgHeartbeat, From: from, To: to, Index: i}
}

func TestInOrderUnderDelayJitter(t *testing.T) {
	tests := []struct {
		name  string
		delay Dist
	}{
		{"no delay", nil},
		{"uniform 0-3ms", sim.Uniform{Min: 0, Max: 3 * time.Millisecond}},
		{"exponential", sim.Exponential{Min: 100 * time.Microsecond, Mean: time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(1)
			nw.SetDefaultLink(LinkModel{Delay: tt.delay})
			eps, recs := join(t, nw, 3)
			const n = 300
			var wg sync.WaitGroup
			for _, from := range []int{0, 2} {
				wg.Go(func() {
					for i := 1; i <= n; i++ {
						eps[from].Send([]raft.Message{hb(uint64(from+1), 2, uint64(i))})
						if i%50 == 0 {
							time.Sleep(time.Millisecond)
						}
					}
				})
			}
			wg.Wait()
			waitFor(t, "all messages", 5*time.Second, func() bool { return recs[1].count() == 2*n })
			next := map[uint64]uint64{1: 1, 3: 1}
			for _, a := range recs[1].arrivals() {
				if a.m.Index != next[a.m.From] {
					t.Fatalf("from %d: got index %d, want %d (out of order)", a.m.From, a.m.Index, next[a.m.From])
				}
				next[a.m.From]++
			}
			if recs[1].overlaps != 0 {
				t.Fatalf("%d overlapping Deliver calls on one endpoint", recs[1].overlaps)
			}
			if st := eps[0].PeerStats(2); st.Sent != n || st.Dropped != 0 {
				t.Fatalf("sender stats %+v, want %d sent", st, n)
			}
			if st := eps[1].PeerStats(3); st.Received != n {
				t.Fatalf("receiver stats %+v, want %d received", st, n)
			}
		})
	}
}

func TestDelayIsApplied(t *testing.T) {
	tests := []struct {
		name     string
		delay    Dist
		min, max time.Duration
	}{
		{"const 20ms", sim.Const(20 * time.Millisecond), 20 * time.Millisecond, 20 * time.Millisecond},
		{"uniform 15-30ms", sim.Uniform{Min: 15 * time.Millisecond, Max: 30 * time.Millisecond}, 15 * time.Millisecond, 30 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(2)
			nw.SetLink(1, 2, LinkModel{Delay: tt.delay})
			eps, recs := join(t, nw, 2)
			const n = 50
			sent := make([]time.Time, n+1)
			for i := 1; i <= n; i++ {
				sent[i] = time.Now()
				eps[0].Send([]raft.Message{hb(1, 2, uint64(i))})
				time.Sleep(200 * time.Microsecond)
			}
			// The reverse link has no delay.
			begin := time.Now()
			eps[1].Send([]raft.Message{hb(2, 1, 1)})
			waitFor(t, "the undelayed message", time.Second, func() bool { return recs[0].count() == 1 })
			if d := recs[0].arrivals()[0].at.Sub(begin); d >= tt.min {
				t.Errorf("reverse link took %v, want less than %v: the delay leaked to it", d, tt.min)
			}
			waitFor(t, "all messages", 5*time.Second, func() bool { return recs[1].count() == n })
			var total time.Duration
			for _, a := range recs[1].arrivals() {
				d := a.at.Sub(sent[a.m.Index])
				if d < tt.min {
					t.Fatalf("message %d arrived after %v, before the minimum delay %v", a.m.Index, d, tt.min)
				}
				total += d
			}
			// Timers fire late, never early; on average they should not be
			// very late.
			if mean := total / n; mean > tt.max+50*time.Millisecond {
				t.Fatalf("mean delay %v, want at most about %v", mean, tt.max)
			}
		})
	}
}

func TestLossAndDuplicationRates(t *testing.T) {
	// Each message is lost or duplicated independently, so the copies
	// received total n*perMessage give or take sqrt(n*variance); the seed
	// fixes the outcome, and the 6-sigma band holds for any seed.
	tests := []struct {
		name       string
		model      LinkModel
		perMessage float64 // expected copies received per message sent
		variance   float64 // variance of the copies received per message
	}{
		{"loss 30%", LinkModel{Loss: 0.3}, 0.7, 0.3 * 0.7},
		{"loss 5%", LinkModel{Loss: 0.05}, 0.95, 0.05 * 0.95},
		{"duplicate 20%", LinkModel{Duplicate: 0.2}, 1.2, 0.2 * 0.8},
		// 0 copies w.p. 1/2, 1 or 2 w.p. 1/4 each: mean 3/4, E[x²] 5/4.
		{"loss and duplicate", LinkModel{Loss: 0.5, Duplicate: 0.5}, 0.75, 1.25 - 0.75*0.75},
		{"no faults", LinkModel{}, 1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(3)
			nw.SetDefaultLink(tt.model)
			eps, recs := join(t, nw, 2)
			const n = 10000
			batch := make([]raft.Message, 100)
			for i := 0; i < n; i += len(batch) {
				for k := range batch {
					batch[k] = hb(1, 2, uint64(i+k+1))
				}
				eps[0].Send(batch)
			}
			st := eps[0].PeerStats(2)
			if st.Sent+st.Dropped != n {
				t.Fatalf("sent %d + dropped %d != %d", st.Sent, st.Dropped, n)
			}
			waitFor(t, "deliveries to finish", 5*time.Second, func() bool { return eps[1].pending.Load() == 0 })
			got := float64(recs[1].count())
			mean := n * tt.perMessage
			spread := 6 * math.Sqrt(n*tt.variance)
			if got < mean-spread-1 || got > mean+spread+1 {
				t.Fatalf("received %.0f copies of %d messages, want %.0f ± %.0f", got, n, mean, spread)
			}
		})
	}
}

func TestReordering(t *testing.T) {
	nw := NewNetwork(4)
	nw.SetDefaultLink(LinkModel{Reorder: 0.2, ReorderDelay: sim.Const(5 * time.Millisecond)})
	eps, recs := join(t, nw, 2)
	const n = 500
	for i := 1; i <= n; i++ {
		eps[0].Send([]raft.Message{hb(1, 2, uint64(i))})
	}
	waitFor(t, "all messages", 5*time.Second, func() bool { return recs[1].count() == n })
	inversions := 0
	var last uint64
	for _, a := range recs[1].arrivals() {
		if a.m.Index < last {
			inversions++
		}
		last = max(last, a.m.Index)
	}
	if inversions == 0 {
		t.Fatalf("no message overtaken with Reorder 0.2")
	}
}

func TestPartitionsAndHeal(t *testing.T) {
	type link struct{ from, to uint64 }
	tests := []struct {
		name    string
		fault   func(nw *Network)
		blocked []link
		open    []link
	}{
		{"symmetric partition", func(nw *Network) { nw.Partition([]uint64{1}, []uint64{2, 3}) },
			[]link{{1, 2}, {2, 1}, {1, 3}, {3, 1}, {4, 1}, {4, 2}, {2, 4}}, []link{{2, 3}, {3, 2}}},
		{"unnamed nodes form a group", func(nw *Network) { nw.Partition([]uint64{1, 2}) },
			[]link{{1, 3}, {3, 2}}, []link{{1, 2}, {3, 4}, {4, 3}}},
		{"one-way cut", func(nw *Network) { nw.Cut(1, 2) },
			[]link{{1, 2}}, []link{{2, 1}, {1, 3}, {3, 2}}},
		{"cut then mend", func(nw *Network) { nw.Cut(1, 2); nw.Cut(2, 1); nw.Mend(1, 2) },
			[]link{{2, 1}}, []link{{1, 2}}},
		{"a new partition replaces the old", func(nw *Network) {
			nw.Partition([]uint64{1}, []uint64{2})
			nw.Partition([]uint64{1, 2}, []uint64{3})
		}, []link{{1, 3}, {3, 2}}, []link{{1, 2}, {2, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(5)
			eps, recs := join(t, nw, 4)
			tt.fault(nw)
			send := func(l link, idx uint64) { eps[l.from-1].Send([]raft.Message{hb(l.from, l.to, idx)}) }
			received := func(l link, idx uint64) bool {
				for _, a := range recs[l.to-1].arrivals() {
					if a.m.From == l.from && a.m.Index == idx {
						return true
					}
				}
				return false
			}
			for _, l := range append(append([]link(nil), tt.blocked...), tt.open...) {
				send(l, 1)
			}
			for _, l := range tt.open {
				waitFor(t, fmt.Sprintf("%d->%d", l.from, l.to), time.Second, func() bool { return received(l, 1) })
			}
			settle(t, eps)
			for _, l := range tt.blocked {
				if received(l, 1) {
					t.Fatalf("%d->%d delivered across the fault", l.from, l.to)
				}
				if st := eps[l.from-1].PeerStats(l.to); st.Dropped != 1 {
					t.Fatalf("%d->%d stats %+v, want 1 dropped", l.from, l.to, st)
				}
			}
			nw.Heal()
			for _, l := range tt.blocked {
				send(l, 2)
				waitFor(t, fmt.Sprintf("%d->%d after Heal", l.from, l.to), time.Second, func() bool { return received(l, 2) })
			}
		})
	}
}

func TestLinkModelChangesAtRunTime(t *testing.T) {
	nw := NewNetwork(6)
	eps, recs := join(t, nw, 2)
	nw.SetLink(1, 2, LinkModel{Loss: 1})
	eps[0].Send([]raft.Message{hb(1, 2, 1)})
	nw.SetLink(1, 2, LinkModel{})
	eps[0].Send([]raft.Message{hb(1, 2, 2)})
	nw.SetLink(1, 2, LinkModel{Loss: 1})
	nw.ResetLinks()
	eps[0].Send([]raft.Message{hb(1, 2, 3)})
	settle(t, eps)
	got := recs[1].arrivals()
	if len(got) != 2 || got[0].m.Index != 2 || got[1].m.Index != 3 {
		t.Fatalf("received %v, want indexes 2 and 3", got)
	}
}

func TestCloseAndRejoin(t *testing.T) {
	nw := NewNetwork(7)
	nw.SetDefaultLink(LinkModel{Delay: sim.Const(30 * time.Millisecond)})
	eps, recs := join(t, nw, 2)
	eps[0].Send([]raft.Message{hb(1, 2, 1)}) // in flight when 2 leaves
	if err := eps[1].Close(); err != nil {
		t.Fatal(err)
	}
	eps[0].Send([]raft.Message{hb(1, 2, 2)}) // 2 is absent
	rec := &recorder{}
	e2 := nw.Join(2, rec)
	defer e2.Close()
	eps[0].Send([]raft.Message{hb(1, 2, 3)})
	waitFor(t, "delivery to the rejoined node", time.Second, func() bool { return rec.count() == 1 })
	settle(t, []*Endpoint{eps[0], e2})
	if recs[1].count() != 0 || rec.count() != 1 || rec.arrivals()[0].m.Index != 3 {
		t.Fatalf("old endpoint got %d, new got %v; want 0 and only index 3", recs[1].count(), rec.arrivals())
	}
	if st := eps[0].PeerStats(2); st.Dropped != 1 || st.Sent != 2 {
		t.Fatalf("stats %+v, want 2 sent (one lost in flight) and 1 dropped", st)
	}
	// Sending from a closed endpoint drops.
	eps[1].Send([]raft.Message{hb(2, 1, 1)})
	if st := eps[1].PeerStats(1); st.Dropped != 1 {
		t.Fatalf("closed endpoint stats %+v, want 1 dropped", st)
	}
}

func TestQueueLimitDrops(t *testing.T) {
	nw := NewNetwork(8)
	nw.SetQueueLen(10)
	nw.SetDefaultLink(LinkModel{Delay: sim.Const(20 * time.Millisecond)})
	eps, recs := join(t, nw, 2)
	batch := make([]raft.Message, 25)
	for i := range batch {
		batch[i] = hb(1, 2, uint64(i+1))
	}
	eps[0].Send(batch)
	if st := eps[0].PeerStats(2); st.Sent != 10 || st.Dropped != 15 {
		t.Fatalf("stats %+v, want 10 sent, 15 dropped", st)
	}
	waitFor(t, "10 messages", time.Second, func() bool { return recs[1].count() == 10 })
}

func TestJoinTwicePanics(t *testing.T) {
	nw := NewNetwork(9)
	join(t, nw, 1)
	defer func() {
		if recover() == nil {
			t.Fatal("second Join of id 1 did not panic")
		}
	}()
	nw.Join(1, &recorder{})
}

func snapMsg(from, to uint64) raft.Message {
	return raft.Message{Type: raft.MsgSnap, From: from, To: to, Term: 2,
		Snapshot: &raft.Snapshot{Meta: raft.SnapshotMeta{Index: 10, Term: 2, Voters: []uint64{1, 2}}}}
}

func TestSnapshotStream(t *testing.T) {
	data := make([]byte, 5<<20+3)
	rand.NewChaCha8([32]byte{7}).Read(data)
	want := sha256.Sum256(data)
	boom := errors.New("disk full")
	tests := []struct {
		name    string
		handler func(m raft.Message, body io.Reader) error
		fault   func(nw *Network)
		wantErr error // nil: success
	}{
		{"intact", func(m raft.Message, body io.Reader) error {
			h := sha256.New()
			if _, err := io.Copy(h, body); err != nil {
				return err
			}
			if [32]byte(h.Sum(nil)) != want || m.Snapshot.Meta.Index != 10 || m.Snapshot.Data != nil {
				return errors.New("corrupt")
			}
			return nil
		}, nil, nil},
		{"handler fails early", func(m raft.Message, body io.Reader) error {
			io.CopyN(io.Discard, body, 1000)
			return boom
		}, nil, transport.ErrRejected},
		{"handler fails at the end", func(m raft.Message, body io.Reader) error {
			io.Copy(io.Discard, body)
			return boom
		}, nil, transport.ErrRejected},
		{"handler accepts early", func(m raft.Message, body io.Reader) error { return nil }, nil, nil},
		{"link cut", nil, func(nw *Network) { nw.Cut(1, 2) }, errAny},
		{"link lost", nil, func(nw *Network) { nw.SetLink(1, 2, LinkModel{Loss: 1}) }, errAny},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(10)
			eps, recs := join(t, nw, 2)
			recs[1].snap = tt.handler
			if tt.fault != nil {
				tt.fault(nw)
			}
			err := eps[0].SendSnapshot(context.Background(), snapMsg(1, 2), bytes.NewReader(data))
			switch {
			case tt.wantErr == nil && err != nil:
				t.Fatalf("SendSnapshot: %v", err)
			case tt.wantErr == errAny && err == nil, tt.wantErr != nil && tt.wantErr != errAny && !errors.Is(err, tt.wantErr):
				t.Fatalf("SendSnapshot = %v, want %v", err, tt.wantErr)
			}
		})
	}
}

var errAny = errors.New("any error")

func TestSnapshotAborts(t *testing.T) {
	tests := []struct {
		name  string
		abort func(cancel context.CancelFunc, sender, receiver *Endpoint)
	}{
		{"context cancelled", func(cancel context.CancelFunc, _, _ *Endpoint) { cancel() }},
		{"receiver closes", func(_ context.CancelFunc, _, r *Endpoint) { r.Close() }},
		{"sender closes", func(_ context.CancelFunc, s, _ *Endpoint) { s.Close() }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			nw := NewNetwork(11)
			eps, recs := join(t, nw, 2)
			started := make(chan struct{})
			handlerErr := make(chan error, 1)
			recs[1].snap = func(m raft.Message, body io.Reader) error {
				close(started)
				_, err := io.Copy(io.Discard, body)
				handlerErr <- err
				return err
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			pr, pw := io.Pipe() // a body that never ends
			defer pw.Close()
			go pw.Write(make([]byte, 1000))
			sendErr := make(chan error, 1)
			go func() { sendErr <- eps[0].SendSnapshot(ctx, snapMsg(1, 2), pr) }()
			<-started
			go tt.abort(cancel, eps[0], eps[1])
			select {
			case err := <-handlerErr:
				if err == nil {
					t.Fatal("handler read a complete body from an aborted stream")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("handler not released")
			}
			pw.CloseWithError(errors.New("body closed")) // release the sender's read
			select {
			case err := <-sendErr:
				if err == nil {
					t.Fatal("SendSnapshot succeeded on an aborted stream")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("SendSnapshot not released")
			}
		})
	}
}

func ExampleNetwork() {
	nw := NewNetwork(1)
	nw.SetDefaultLink(LinkModel{Delay: sim.Uniform{Min: time.Millisecond, Max: 2 * time.Millisecond}})
	h := &recorder{}
	a := nw.Join(1, &recorder{})
	b := nw.Join(2, h)
	defer a.Close()
	defer b.Close()

	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Commit: 7}})
	nw.Partition([]uint64{1}, []uint64{2})
	a.Send([]raft.Message{{Type: raft.MsgHeartbeat, From: 1, To: 2, Commit: 8}}) // dropped
	for h.count() == 0 {
		time.Sleep(time.Millisecond)
	}
	time.Sleep(5 * time.Millisecond)
	fmt.Println(h.count(), h.arrivals()[0].m.Commit, a.PeerStats(2).Dropped)
	// Output: 1 7 1
}
