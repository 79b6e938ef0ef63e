package node

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// BenchmarkCommitTCP runs a 3-node cluster over TCP on loopback with fsync
// on, and proposes 128-byte commands from P concurrent proposers to the
// leader. One op is one committed (and applied) proposal. It reports
// throughput and commit latency percentiles, and for a single proposer the
// ratio of its median commit latency to the median of one fsync measured on
// the same disk in the same run.
func BenchmarkCommitTCP(b *testing.B) {
	for _, proposers := range []int{1, 64, 256, 512, 1024} {
		b.Run(fmt.Sprintf("proposers=%d", proposers), func(b *testing.B) {
			benchCommit(b, proposers, false)
		})
	}
}

// BenchmarkCommitTCPAsync is BenchmarkCommitTCP with the proposals in
// flight kept by one goroutine per CPU through ProposeAsync, as the load
// generator does. With a goroutine per proposer, hundreds of proposers
// woken at each group commit queue ahead of the nodes' own goroutines on a
// small machine, and the benchmark measures the Go scheduler as much as the
// node.
func BenchmarkCommitTCPAsync(b *testing.B) {
	for _, inflight := range []int{64, 256, 512, 1024, 2048} {
		b.Run(fmt.Sprintf("inflight=%d", inflight), func(b *testing.B) {
			benchCommit(b, inflight, true)
		})
	}
}

func benchCommit(b *testing.B, proposers int, async bool) {
	dir := b.TempDir()
	fsyncP50 := measureFsync(b, dir, 200)
	c := newTestCluster(b, 3, newTCPNet(b), func(cfg *Config) {
		cfg.NoSync = false
		cfg.Dir = filepath.Join(dir, fmt.Sprint(cfg.Raft.ID))
		cfg.StateMachine = &countSM{}
		cfg.Raft.MaxInflightMsgs = 256
		cfg.Raft.MaxEntriesPerMsg = 4096
		// Snapshots bound the in-memory log (and the GC's work), as in
		// any long-running deployment.
		cfg.SnapshotEntries = 100_000
	})
	lead := c.leader()
	data := make([]byte, 128)
	lat := make([][]time.Duration, proposers)
	var wg sync.WaitGroup
	per := b.N / proposers
	extra := b.N % proposers
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	if async {
		lat = proposeAsync(b, lead, data, proposers)
	}
	for p := 0; p < proposers && !async; p++ {
		n := per
		if p < extra {
			n++
		}
		wg.Add(1)
		go func(p, n int) {
			defer wg.Done()
			ctx := context.Background()
			ls := make([]time.Duration, 0, n)
			for range n {
				t0 := time.Now()
				if _, err := lead.Apply(ctx, data); err != nil {
					b.Errorf("proposal: %v", err)
					return
				}
				ls = append(ls, time.Since(t0))
			}
			lat[p] = ls
		}(p, n)
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	all := slices.Concat(lat...)
	slices.Sort(all)
	if len(all) == 0 {
		return
	}
	q := func(f float64) time.Duration { return all[int(f*float64(len(all)-1))] }
	b.ReportMetric(float64(len(all))/elapsed.Seconds(), "commits/s")
	b.ReportMetric(float64(q(0.5).Microseconds()), "p50-µs")
	b.ReportMetric(float64(q(0.99).Microseconds()), "p99-µs")
	b.ReportMetric(float64(fsyncP50.Microseconds()), "fsync-p50-µs")
	var dropped, commits uint64
	for _, n := range c.nodes {
		dropped += n.Stats().MessagesDropped.Load()
		commits += n.Stats().GroupCommits.Load()
	}
	b.ReportMetric(float64(commits)/float64(len(all)), "syncs/op")
	if dropped > 0 {
		b.Logf("messages dropped by busy loops: %d", dropped)
	}
	if proposers == 1 {
		b.ReportMetric(float64(q(0.5))/float64(fsyncP50), "p50/fsync")
	}
}

// proposeAsync makes b.N proposals with inflight of them in flight at any
// time, from one goroutine per CPU, and returns each goroutine's
// latencies.
func proposeAsync(b *testing.B, lead *Node, data []byte, inflight int) [][]time.Duration {
	workers := min(inflight, runtime.GOMAXPROCS(0))
	lat := make([][]time.Duration, workers)
	var wg sync.WaitGroup
	for w := range workers {
		n := b.N / workers
		if w < b.N%workers {
			n++
		}
		slots := inflight / workers
		if w < inflight%workers {
			slots++
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each callback sends its slot on done, whose capacity is the
			// slots: it never blocks the node.
			done := make(chan int, slots)
			sent := make([]time.Time, slots)
			ls := make([]time.Duration, 0, n)
			issued := 0
			propose := func(slot int) {
				issued++
				sent[slot] = time.Now()
				lead.ProposeAsync(context.Background(), data, func(_ any, err error) {
					if err != nil {
						b.Errorf("proposal: %v", err)
					}
					done <- slot
				})
			}
			for slot := 0; slot < slots && issued < n; slot++ {
				propose(slot)
			}
			for len(ls) < issued {
				slot := <-done
				ls = append(ls, time.Since(sent[slot]))
				if issued < n {
					propose(slot)
				}
			}
			lat[w] = ls
		}()
	}
	wg.Wait()
	return lat
}

// measureFsync times n small writes, each followed by fdatasync, in dir.
func measureFsync(b *testing.B, dir string, n int) time.Duration {
	f, err := os.Create(filepath.Join(dir, "fsync-probe"))
	if err != nil {
		b.Fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	buf := make([]byte, 256)
	ds := make([]time.Duration, n)
	for i := range ds {
		t0 := time.Now()
		if _, err := f.Write(buf); err != nil {
			b.Fatal(err)
		}
		if err := f.Sync(); err != nil {
			b.Fatal(err)
		}
		ds[i] = time.Since(t0)
	}
	slices.Sort(ds)
	return ds[n/2]
}

// countSM counts applied entries and keeps nothing else, so a long
// benchmark does not measure its own memory growth.
type countSM struct{ n uint64 }

func (s *countSM) Apply(index uint64, data []byte) any { s.n++; return nil }
func (s *countSM) Snapshot() (SnapshotView, error)     { return listView(nil), nil }
func (s *countSM) Restore(r io.Reader) error           { _, err := io.Copy(io.Discard, r); return err }
