package node

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

var soakFor = flag.Duration("node.soak", 0, "run TestSoak for this long (e.g. 5m); 0 skips it")

// TestSoak drives a 3-node TCP cluster with fsync and snapshots on for
// -node.soak, sampling the heap and the peak RSS, and fails if the heap
// keeps growing: with snapshots compacting the log, memory must stay
// bounded. Run it with `make soak`.
func TestSoak(t *testing.T) {
	if *soakFor == 0 {
		t.Skip("enable with -node.soak=5m (make soak)")
	}
	c := newTestCluster(t, 3, newTCPNet(t), func(cfg *Config) {
		cfg.NoSync = false
		cfg.StateMachine = &countSM{}
		cfg.SnapshotEntries = 50_000
	})
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	data := make([]byte, 128)
	var (
		wg  sync.WaitGroup
		mu  sync.Mutex
		ops int
	)
	for p := 0; p < 128; p++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			n := 0
			for ctx.Err() == nil {
				if _, err := c.leader().Apply(ctx, data); err == nil {
					n++
				}
			}
			mu.Lock()
			ops += n
			mu.Unlock()
		}()
	}
	var samples []uint64
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	start := time.Now()
loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-tick.C:
			runtime.GC()
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			samples = append(samples, ms.HeapInuse)
			t.Logf("%4.0fs heap in use %6.1f MiB, peak RSS %6.1f MiB", time.Since(start).Seconds(),
				float64(ms.HeapInuse)/(1<<20), float64(peakRSS())/(1<<10))
		}
	}
	wg.Wait()
	t.Logf("%d commits in %v (%.0f/s), peak RSS %.1f MiB", ops, *soakFor, float64(ops)/soakFor.Seconds(), float64(peakRSS())/(1<<10))
	if len(samples) >= 4 {
		// Compare the last samples with the ones after warm-up.
		early := max(samples[1], samples[2])
		late := samples[len(samples)-1]
		if late > 2*early+64<<20 {
			t.Errorf("heap grew from %d MiB to %d MiB: not bounded", early>>20, late>>20)
		}
	}
}

// peakRSS is the process's peak resident set (VmHWM), in KiB.
func peakRSS() uint64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			var kb uint64
			fmt.Sscanf(strings.TrimSpace(rest), "%d", &kb)
			return kb
		}
	}
	return 0
}
