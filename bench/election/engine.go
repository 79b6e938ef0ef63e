package election

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/workloads"
)

// engineTrial runs one real-mode trial on a cluster of cfg.Engine, an
// engine seen only through the bench.Cluster interface (a baseline such as
// etcd's raft or hashicorp/raft). What it can measure is less than the
// raft library's real mode, which watches every message:
//
//   - the failure is a crash of the leader (no partitions, no shaping of
//     the logs: every survivor holds the whole log, so any may win);
//   - no delay is added to the network or the disk;
//   - the time without leader runs from the crash to the new leader's own
//     report that it leads (its role change), not to the moment every
//     survivor has heard from it: on loopback the two differ by one
//     message's delay;
//   - rounds and split votes come from the role changes the engine reports
//     (terms and candidacies); an engine that reports no candidacies shows
//     no split votes.
//
// The client recovery is measured as in the other modes: from the crash to
// the commit of the first write sent to the new leader.
func engineTrial(ctx context.Context, cfg *Config, l *Line, seed uint64, dir string) (Trial, error) {
	for attempt := uint64(0); attempt < 20; attempt++ {
		t, err := engineAttempt(ctx, cfg, l, seed+attempt<<40, filepath.Join(dir, fmt.Sprint(attempt)))
		if !errors.Is(err, errSetup) {
			return t, err
		}
	}
	return Trial{}, fmt.Errorf("%s trial seed %d: no leader kept a settled cluster in 20 attempts", cfg.Engine.Name(), seed)
}

// roleLog keeps the role changes an engine reports.
type roleLog struct {
	mu      sync.Mutex
	changes []bench.RoleChange
	wake    chan struct{} // capacity 1: a change arrived
}

func (r *roleLog) follow(ch <-chan bench.RoleChange) {
	for rc := range ch {
		r.mu.Lock()
		r.changes = append(r.changes, rc)
		r.mu.Unlock()
		select {
		case r.wake <- struct{}{}:
		default:
		}
	}
}

// since returns the changes from index i on.
func (r *roleLog) since(i int) []bench.RoleChange {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]bench.RoleChange(nil), r.changes[min(i, len(r.changes)):]...)
}

func (r *roleLog) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.changes)
}

func engineAttempt(ctx context.Context, cfg *Config, l *Line, seed uint64, dir string) (Trial, error) {
	heartbeat := cfg.Heartbeat
	if heartbeat == 0 {
		heartbeat = l.TimeoutMin / 2
	}
	maxTime := cfg.MaxTime
	if maxTime == 0 {
		maxTime = 10 * time.Minute
	}
	c, err := cfg.Engine.Start(ctx, bench.ClusterConfig{Nodes: l.Nodes, Transport: "tcp", Fsync: true, DataDir: dir,
		ElectionTimeoutMin: l.TimeoutMin, ElectionTimeoutMax: l.TimeoutMax, Heartbeat: heartbeat,
		PreVote: cfg.PreVote, CheckQuorum: cfg.CheckQuorum, MaxInflight: 256, MaxBatchBytes: 1 << 20, Seed: seed})
	if err != nil {
		return Trial{}, fmt.Errorf("starting a %s cluster: %w", cfg.Engine.Name(), err)
	}
	defer os.RemoveAll(dir)
	defer c.Close()
	roles := &roleLog{wake: make(chan struct{}, 1)}
	go roles.follow(c.RoleChanges())

	// Setup: a leader, a committed write, and a few quiet heartbeats.
	setupLimit := 20*l.TimeoutMax + 5*time.Second
	var lead uint64
	if !waitFor(ctx, setupLimit, func() bool { lead = c.Leader(); return lead != 0 }) {
		return Trial{}, errSetup
	}
	wctx, cancel := context.WithTimeout(ctx, setupLimit)
	_, err = c.Write(wctx, lead, workloads.EncodePut(1, 1, []byte("setup"), []byte("x")))
	cancel()
	if err != nil {
		return Trial{}, errSetup
	}
	settled := roles.len()
	select {
	case <-time.After(5 * heartbeat):
	case <-ctx.Done():
		return Trial{}, ctx.Err()
	}
	if c.Leader() != lead || len(roles.since(settled)) > 0 {
		return Trial{}, errSetup // leadership moved while settling
	}
	var oldTerm uint64
	for _, rc := range roles.since(0) {
		if rc.Node == lead && rc.Role == "leader" {
			oldTerm = rc.Term
		}
	}

	mark := roles.len()
	failedAt := time.Now()
	if err := c.Crash(lead); err != nil {
		return Trial{}, fmt.Errorf("crashing leader %d: %w", lead, err)
	}
	t := Trial{TimedOut: true, TimeWithoutLeader: maxTime, ClientRecovery: maxTime}
	deadline := time.NewTimer(maxTime)
	defer deadline.Stop()
	var newLead, newTerm uint64
	candidates := map[uint64]map[uint64]bool{}
	for newLead == 0 {
		for _, rc := range roles.since(mark) {
			mark++
			switch {
			case rc.Node == lead || rc.At.Before(failedAt):
			case rc.Role == "candidate":
				if candidates[rc.Term] == nil {
					candidates[rc.Term] = map[uint64]bool{}
				}
				candidates[rc.Term][rc.Node] = true
			case rc.Role == "leader" && (rc.Term == 0 || rc.Term > oldTerm) && newLead == 0:
				newLead, newTerm = rc.Node, rc.Term
				t.TimeWithoutLeader, t.TimedOut = rc.At.Sub(failedAt), false
			}
		}
		if newLead != 0 {
			break
		}
		select {
		case <-roles.wake:
		case <-deadline.C:
			return t, nil
		case <-ctx.Done():
			return Trial{}, ctx.Err()
		}
	}
	if newTerm > oldTerm && oldTerm > 0 {
		t.Rounds = int(newTerm - oldTerm)
	}
	for term, cs := range candidates {
		if term < newTerm && len(cs) > 1 {
			t.SplitVotes++
		}
	}
	// The client: one write to whoever leads now, retried until it
	// commits or the cap.
	for seq := uint64(1); ; seq++ {
		target := c.Leader()
		if target == 0 || target == lead {
			target = newLead
		}
		wctx, cancel := context.WithTimeout(ctx, time.Until(failedAt.Add(maxTime)))
		_, err := c.Write(wctx, target, workloads.EncodePut(2, seq, []byte("client"), []byte("write")))
		cancel()
		if err == nil {
			t.ClientRecovery = time.Since(failedAt)
			break
		}
		if ctx.Err() != nil {
			return Trial{}, ctx.Err()
		}
		if time.Since(failedAt) >= maxTime {
			break
		}
		time.Sleep(time.Millisecond)
	}
	return t, nil
}
