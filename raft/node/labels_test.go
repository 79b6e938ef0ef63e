package node

import (
	"bytes"
	"fmt"
	"runtime/pprof"
	"strings"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

// labelledGoroutines returns, for every goroutine of the profile whose
// stack holds fn, its pprof labels as printed by the goroutine profile
// ("" when none), e.g. `{"node":"1", "role":"leader"}`.
func labelledGoroutines(t *testing.T, fn string) []string {
	t.Helper()
	var b bytes.Buffer
	if err := pprof.Lookup("goroutine").WriteTo(&b, 1); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, group := range strings.Split(b.String(), "\n\n") {
		if !strings.Contains(group, fn) {
			continue
		}
		labels := ""
		for _, line := range strings.Split(group, "\n") {
			if l, ok := strings.CutPrefix(line, "# labels: "); ok {
				labels = l
			}
		}
		out = append(out, labels)
	}
	return out
}

// waitLabels waits until every goroutine running fn carries a label set
// accepted by ok, and returns the sets.
func waitLabels(t *testing.T, c *testCluster, fn string, ok func(labels string) bool) []string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		c.propose("x") // wakes every goroutine of every node
		got := labelledGoroutines(t, fn)
		all := len(got) > 0
		for _, l := range got {
			all = all && ok(l)
		}
		if all {
			return got
		}
		if time.Now().After(deadline) {
			t.Fatalf("goroutines in %s: labels %q", fn, got)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestProfileLabels(t *testing.T) {
	c := newTestCluster(t, 3, newTCPNet(t), nil)
	lead := c.leader()
	t.Cleanup(func() {
		EnableProfileLabels(false)
		SetProfileLabel(LabelPhase, "")
	})

	// Off: no labels anywhere.
	c.propose("a")
	for _, fn := range []string{"node.(*Node).run", "node.(*Node).diskLoop", "node.(*Node).applyLoop"} {
		for _, l := range labelledGoroutines(t, fn) {
			if l != "" {
				t.Errorf("labels off: a goroutine in %s carries %s", fn, l)
			}
		}
	}

	EnableProfileLabels(true)
	SetProfileLabel(LabelPhase, "measure")
	other := c.nodes[c.follower(lead.ID())]
	other.SetProfileLabel(LabelPhase, "failure")
	want := func(n *Node, role raft.Role, phase string) string {
		return fmt.Sprintf(`{"node":"%d", "phase":"%s", "role":"%s"}`, n.ID(), phase, role)
	}
	for _, fn := range []string{"node.(*Node).run", "node.(*Node).diskLoop", "node.(*Node).applyLoop"} {
		got := waitLabels(t, c, fn, func(l string) bool {
			return l == want(lead, raft.Leader, "measure") || l == want(other, raft.Follower, "failure") ||
				strings.Contains(l, `"phase":"measure", "role":"follower"`)
		})
		for _, w := range []string{want(lead, raft.Leader, "measure"), want(other, raft.Follower, "failure")} {
			if !strings.Contains(strings.Join(got, "\n"), w) {
				t.Errorf("goroutines in %s: got labels %q, want one with %s", fn, got, w)
			}
		}
	}
	// The transport's reader and writer goroutines carry node and the
	// process-wide labels from the first batch they move (a follower's
	// writer to another follower never wakes: it keeps none).
	for _, fn := range []string{"tcp.(*peer).run", "tcp.(*Transport).readMessages"} {
		got := waitLabels(t, c, fn, func(l string) bool {
			return l == "" || strings.HasPrefix(l, `{"node":"`) && strings.HasSuffix(l, `", "phase":"measure"}`)
		})
		if w := fmt.Sprintf(`{"node":"%d", "phase":"measure"}`, lead.ID()); !strings.Contains(strings.Join(got, "\n"), w) {
			t.Errorf("goroutines in %s: got labels %q, want one with %s", fn, got, w)
		}
	}

	// Off again: the labels go at the next wake-up.
	EnableProfileLabels(false)
	waitLabels(t, c, "node.(*Node).run", func(l string) bool { return l == "" })
}

func TestProfileLabelsFollowTheRole(t *testing.T) {
	c := newTestCluster(t, 3, newMemNet(), nil)
	EnableProfileLabels(true)
	t.Cleanup(func() { EnableProfileLabels(false) })
	lead := c.leader()
	wantLeader := fmt.Sprintf(`{"node":"%d", "role":"leader"}`, lead.ID())
	waitLabels(t, c, "node.(*Node).run", func(l string) bool {
		return l == wantLeader || strings.HasSuffix(l, `"role":"follower"}`)
	})
	// Stop the leader: another node leads, and its labels say so.
	c.stop(lead.ID())
	next := c.leader()
	wantNext := fmt.Sprintf(`{"node":"%d", "role":"leader"}`, next.ID())
	got := waitLabels(t, c, "node.(*Node).run", func(l string) bool {
		return l == wantNext || strings.HasSuffix(l, `"role":"follower"}`)
	})
	if !strings.Contains(strings.Join(got, "\n"), wantNext) {
		t.Errorf("after the failover: labels %q, want one with %s", got, wantNext)
	}
}
