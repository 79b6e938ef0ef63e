package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// asyncResult is one callback's arguments, sent on a buffered channel (a
// callback must never block).
type asyncResult struct {
	result any
	err    error
}

func TestProposeAsyncAndReadAsync(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), func(cfg *Config) { cfg.Raft.CheckQuorum = true })
	lead := c.leader()
	const n = 200
	done := make(chan asyncResult, n)
	for i := range n {
		lead.ProposeAsync(context.Background(), []byte(fmt.Sprint("v", i)), func(result any, err error) {
			done <- asyncResult{result, err}
		})
	}
	for range n {
		select {
		case r := <-done:
			if r.err != nil {
				t.Fatalf("async proposal: %v", r.err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("an async proposal was never answered")
		}
	}
	// Every proposal's callback came after its entry was applied: a read
	// now sees all of them on every node.
	for _, nd := range c.nodes {
		for _, lease := range []bool{false, true} {
			got := make(chan error, 1)
			nd.ReadAsync(context.Background(), lease, func(err error) { got <- err })
			select {
			case err := <-got:
				if err != nil {
					t.Fatalf("ReadAsync(lease=%v) on %d: %v", lease, nd.ID(), err)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("ReadAsync on %d never answered", nd.ID())
			}
			if items := len(c.sms[nd.ID()].items()); items < n {
				t.Errorf("node %d: %d values visible after ReadAsync, want %d", nd.ID(), items, n)
			}
		}
	}
	// On a follower, a proposal is refused with the leader's id.
	f := c.nodes[c.follower(lead.ID())]
	got := make(chan error, 1)
	f.ProposeAsync(context.Background(), []byte("x"), func(_ any, err error) { got <- err })
	var nl *raft.NotLeaderError
	select {
	case err := <-got:
		if !errors.As(err, &nl) || nl.Leader != lead.ID() {
			t.Errorf("proposal on a follower: got %v, want a redirect to %d", err, lead.ID())
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a proposal on a follower was never answered")
	}
}

// Requests queued on a node that never ran, and requests submitted after
// Stop, are answered ErrStopped, each exactly once.
func TestAsyncRequestsOnAStoppedNode(t *testing.T) {
	c := newTestCluster(t, 1, newMemNet(), nil)
	c.stop(1)
	cfg := c.cfg(1)
	cfg.StateMachine = &listSM{}
	n, err := Open(cfg) // opened, never started: nothing reads its queues
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	calls := map[int][]error{}
	answer := func(i int) func(error) {
		return func(err error) { mu.Lock(); calls[i] = append(calls[i], err); mu.Unlock() }
	}
	const queued = 10
	for i := range queued {
		if i%2 == 0 {
			n.ProposeAsync(context.Background(), []byte("x"), func(_ any, err error) { answer(i)(err) })
		} else {
			n.ReadAsync(context.Background(), false, answer(i))
		}
	}
	mu.Lock()
	if len(calls) != 0 {
		t.Errorf("%d requests answered before Stop on a node that never ran", len(calls))
	}
	mu.Unlock()
	if err := n.Stop(); err != nil {
		t.Fatal(err)
	}
	n.ProposeAsync(context.Background(), []byte("late"), func(_ any, err error) { answer(queued)(err) })
	n.ReadAsync(context.Background(), true, answer(queued+1))
	mu.Lock()
	defer mu.Unlock()
	for i := range queued + 2 {
		if got := calls[i]; len(got) != 1 || !errors.Is(got[0], ErrStopped) {
			t.Errorf("request %d: answers %v, want exactly one ErrStopped", i, got)
		}
	}
}

// Requests submitted while a node stops, or after, are answered: nothing
// stays in a queue that nobody reads.
func TestAsyncRequestsAnsweredAcrossStop(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), nil)
	lead := c.leader()
	// Each sender keeps submitting until the stop is over, then a few
	// more: requests land before, during and after it however fast the
	// machine is.
	const maxPerSender, afterStop = 100_000, 10
	var (
		wg      sync.WaitGroup
		sent    atomic.Int64
		stopped atomic.Bool
	)
	answered := make(chan error, 4*maxPerSender)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			extra := 0
			for i := 0; i < maxPerSender && extra < afterStop; i++ {
				if stopped.Load() {
					extra++
				}
				sent.Add(2)
				lead.ProposeAsync(context.Background(), []byte(fmt.Sprint("p", i)), func(_ any, err error) { answered <- err })
				lead.ReadAsync(context.Background(), false, func(err error) { answered <- err })
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	c.stop(lead.ID())
	stopped.Store(true)
	wg.Wait()
	deadline := time.After(10 * time.Second)
	errStopped := 0
	total := int(sent.Load())
	for got := 0; got < total; got++ {
		select {
		case err := <-answered:
			if errors.Is(err, ErrStopped) {
				errStopped++
			}
		case <-deadline:
			t.Fatalf("%d of %d requests never answered", total-got, total)
		}
	}
	if errStopped < 4*afterStop {
		t.Errorf("%d requests failed with ErrStopped, want at least the %d sent after Stop", errStopped, 4*afterStop)
	}
}
