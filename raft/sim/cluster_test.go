package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

func baseRaft() raft.Config {
	return raft.Config{ElectionTimeoutMin: 150 * time.Millisecond, ElectionTimeoutMax: 300 * time.Millisecond}
}

func TestClusterElectsAndCommits(t *testing.T) {
	for _, n := range []int{1, 3, 5, 7} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			c, err := New(Config{Seed: 1, Nodes: n, Raft: baseRaft(),
				Network: Network{Delay: Uniform{time.Millisecond, 3 * time.Millisecond}},
				Disk:    Uniform{100 * time.Microsecond, 2 * time.Millisecond}, Check: true})
			if err != nil {
				t.Fatal(err)
			}
			ok, err := c.RunUntil(5*time.Second, func() bool { return c.Leader() != raft.None })
			if err != nil || !ok {
				t.Fatalf("no leader: ok=%t err=%v", ok, err)
			}
			lead := c.Leader()
			_, last, err := c.Propose(lead, []byte("a"), []byte("b"), []byte("c"))
			if err != nil {
				t.Fatal(err)
			}
			ok, err = c.RunUntil(c.Now()+5*time.Second, func() bool {
				for _, id := range c.IDs() {
					if c.Applied(id) < last {
						return false
					}
				}
				return true
			})
			if err != nil || !ok {
				t.Fatalf("entries up to %d not applied everywhere: ok=%t err=%v", last, ok, err)
			}
		})
	}
}
