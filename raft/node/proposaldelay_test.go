package node

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"
	"time"
)

// batchMetrics records the size of every batch of proposals appended.
type batchMetrics struct {
	countMetrics
	bmu     sync.Mutex
	batches []int
}

func (m *batchMetrics) Proposed(n int) {
	m.bmu.Lock()
	m.batches = append(m.batches, n)
	m.bmu.Unlock()
}

func (m *batchMetrics) sizes() []int {
	m.bmu.Lock()
	defer m.bmu.Unlock()
	return slices.Clone(m.batches)
}

// proposeAll proposes each value asynchronously on n and returns a channel
// that gets each one's error.
func proposeAll(n *Node, vals ...string) chan error {
	errc := make(chan error, len(vals))
	for _, v := range vals {
		n.ProposeAsync(context.Background(), []byte(v), func(_ any, err error) { errc <- err })
	}
	return errc
}

func waitIndex(t *testing.T, n *Node, index uint64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for n.Status().LastIndex < index {
		if time.Now().After(deadline) {
			t.Fatalf("last index %d, want %d", n.Status().LastIndex, index)
		}
		time.Sleep(time.Millisecond)
	}
}

// With a ProposalDelay, an idle leader appends a proposal at once; the ones
// that arrive while it is in flight wait, and go as one batch when it
// commits, however long the delay.
func TestProposalDelayBatchesWhileInFlight(t *testing.T) {
	m := &batchMetrics{}
	c := newTestCluster(t, 1, newMemNet(), func(cfg *Config) {
		cfg.ProposalDelay = time.Hour
		cfg.DiskDelay = func() time.Duration { return time.Second } // a long flight: b, c, d all arrive in it
		cfg.Metrics = m
	})
	lead := c.leader()
	last := lead.Status().LastIndex
	first := proposeAll(lead, "a")
	waitIndex(t, lead, last+1) // appended at once: nothing was in flight
	// Apart enough for the loop to take each on its own: without the
	// delay, each would be a batch.
	rest := make(chan error, 3)
	for _, v := range []string{"b", "c", "d"} {
		lead.ProposeAsync(context.Background(), []byte(v), func(_ any, err error) { rest <- err })
		time.Sleep(5 * time.Millisecond)
	}
	for _, errc := range []chan error{first, rest, rest, rest} {
		select {
		case err := <-errc:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("proposals not committed; batches %v", m.sizes())
		}
	}
	if got, want := m.sizes(), []int{1, 3}; !slices.Equal(got, want) {
		t.Errorf("batches appended %v, want %v", got, want)
	}
	c.checkSame([]string{"a", "b", "c", "d"})
}

// Proposals held for the delay are not appended while nothing commits, and
// fail with ErrStopped when the node stops.
func TestProposalDelayHeldProposalsFailOnStop(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) { cfg.ProposalDelay = time.Hour })
	lead := c.leader()
	for _, id := range c.ids {
		if id != lead.ID() {
			c.stop(id) // nothing can commit from now on
		}
	}
	last := lead.Status().LastIndex
	proposeAll(lead, "a")
	waitIndex(t, lead, last+1)
	held := proposeAll(lead, "b", "c")
	time.Sleep(50 * time.Millisecond)
	if got := lead.Status().LastIndex; got != last+1 {
		t.Errorf("last index %d while a proposal is in flight: want the held ones not appended (%d)", got, last+1)
	}
	c.stop(lead.ID())
	for range 2 {
		select {
		case err := <-held:
			if !errors.Is(err, ErrStopped) {
				t.Errorf("held proposal: %v, want ErrStopped", err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("held proposal not answered on stop")
		}
	}
}

// A held batch goes when the delay ends, though the entries before it are
// still in flight.
func TestProposalDelayEnds(t *testing.T) {
	c := newTestCluster(t, 1, newMemNet(), func(cfg *Config) {
		cfg.ProposalDelay = 20 * time.Millisecond
		cfg.DiskDelay = func() time.Duration { return 2 * time.Second }
	})
	lead := c.leader()
	last := lead.Status().LastIndex
	proposeAll(lead, "a")
	waitIndex(t, lead, last+1)
	proposeAll(lead, "b")
	waitIndex(t, lead, last+2)
	if st := lead.Status(); st.Commit > last {
		t.Errorf("commit %d: want the first entry (%d) still in flight when the second was appended", st.Commit, last+1)
	}
}
