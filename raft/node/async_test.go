package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
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
	if err := <-got; !errors.As(err, &nl) || nl.Leader != lead.ID() {
		t.Errorf("proposal on a follower: got %v, want a redirect to %d", err, lead.ID())
	}
}

// Requests submitted while a node stops, or after, are answered: nothing
// stays in a queue that nobody reads.
func TestAsyncRequestsAnsweredAcrossStop(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), nil)
	lead := c.leader()
	const perSender = 300
	var wg sync.WaitGroup
	answered := make(chan error, 4*perSender)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSender {
				lead.ProposeAsync(context.Background(), []byte(fmt.Sprint("p", i)), func(_ any, err error) { answered <- err })
				lead.ReadAsync(context.Background(), false, func(err error) { answered <- err })
			}
		}()
	}
	time.Sleep(2 * time.Millisecond)
	c.stop(lead.ID())
	wg.Wait()
	deadline := time.After(10 * time.Second)
	stopped := 0
	for range 4 * perSender {
		select {
		case err := <-answered:
			if errors.Is(err, ErrStopped) {
				stopped++
			}
		case <-deadline:
			t.Fatalf("%d requests answered of %d", len(answered), 4*perSender)
		}
	}
	if stopped == 0 {
		t.Errorf("no request was submitted after the stop (the test raced nothing)")
	}
}
