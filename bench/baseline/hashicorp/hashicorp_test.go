package hashicorp_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/baseline/hashicorp"
	"github.com/raftbench/raftbench/bench/enginetest"
	"github.com/raftbench/raftbench/workloads"
)

func TestConformance(t *testing.T) {
	for _, tr := range []string{"tcp", "mem"} {
		t.Run(tr, func(t *testing.T) { enginetest.Conformance(t, hashicorp.Engine{}, tr) })
	}
}

func TestLinearizable(t *testing.T) {
	enginetest.Linearizable(t, hashicorp.Engine{}, "tcp")
}

func TestSnapshotsAndRestarts(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	cfg := enginetest.Config("tcp", 5)
	cfg.Fsync, cfg.DataDir, cfg.SnapshotEntries = true, dir, 50
	e := hashicorp.Engine{SnapshotInterval: 20 * time.Millisecond, TrailingLogs: 10}
	c, err := e.Start(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	settings := c.(bench.Describer).Settings()
	if settings["snapshot_threshold"] != uint64(50) || settings["trailing_logs"] != uint64(10) {
		t.Errorf("settings: snapshot_threshold %v, trailing_logs %v; want 50, 10", settings["snapshot_threshold"], settings["trailing_logs"])
	}

	leader := enginetest.WaitLeader(t, c)
	var follower uint64
	for _, id := range c.Nodes() {
		if id != leader {
			follower = id
		}
	}
	if err := c.Crash(follower); err != nil {
		t.Fatal(err)
	}
	const n = 300
	for i := range n {
		put(ctx, t, c, uint64(i+1), fmt.Sprintf("k%d", i), fmt.Sprintf("v%d", i))
	}
	// The running nodes snapshot and compact their logs past what the
	// crashed follower has. A second snapshot means the first one's
	// compaction is done.
	waitFor(t, "two snapshots on each running node", func() bool {
		for _, id := range c.Nodes() {
			if id != follower && snapshots(t, dir, id) < 2 {
				return false
			}
		}
		return true
	})
	if err := c.Restart(follower); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("v%d", n-1)
	waitFor(t, "the restarted follower to catch up", func() bool {
		v, ok, err := c.Read(ctx, follower, bench.ReadFollower, []byte(fmt.Sprintf("k%d", n-1)))
		return err == nil && ok && string(v) == want
	})
	// raft-wal truncates the head of its last segment lazily (entries
	// below the first index stay readable until the segment goes), so the
	// leader may still send entries instead of its snapshot.
	t.Logf("the follower installed %d snapshots", snapshots(t, dir, follower))
	// Every node restarts from its own snapshot and log.
	for _, id := range c.Nodes() {
		if err := c.Crash(id); err != nil {
			t.Fatal(err)
		}
	}
	for _, id := range c.Nodes() {
		if err := c.Restart(id); err != nil {
			t.Fatal(err)
		}
	}
	for _, key := range []int{0, n / 2, n - 1} {
		waitFor(t, "reads after a full restart", func() bool {
			l := c.Leader()
			if l == 0 {
				return false
			}
			v, ok, err := c.Read(ctx, l, bench.ReadIndex, []byte(fmt.Sprintf("k%d", key)))
			return err == nil && ok && string(v) == fmt.Sprintf("v%d", key)
		})
	}
}

// put writes key=val through whichever node leads, retrying redirects.
func put(ctx context.Context, t *testing.T, c bench.Cluster, seq uint64, key, val string) {
	t.Helper()
	cmd := workloads.EncodePut(9, seq, []byte(key), []byte(val))
	for {
		l := enginetest.WaitLeader(t, c)
		_, err := c.Write(ctx, l, cmd)
		if err == nil {
			return
		}
		if !errors.Is(err, bench.ErrNotLeader) && !errors.Is(err, bench.ErrNodeDown) {
			t.Fatalf("put %s: %v", key, err)
		}
		if ctx.Err() != nil {
			t.Fatalf("put %s: %v", key, ctx.Err())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// snapshots counts the snapshots in node id's snapshot store.
func snapshots(t *testing.T, dir string, id uint64) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, fmt.Sprintf("node-%d", id), "snapshots"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		if e.IsDir() && !strings.HasSuffix(e.Name(), ".tmp") {
			n++
		}
	}
	return n
}
