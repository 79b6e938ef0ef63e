// Command diskfloor measures the durable-latency floor of a disk for a
// group-committing log, with no Raft in the way: what no durable
// implementation can beat on the machine it runs on.
//
// Each of -writers writers receives -rate records of -size bytes a second on
// a fixed schedule (an open loop) and, in a loop, writes everything that has
// arrived and fdatasyncs it. A record's latency runs from its scheduled
// arrival to the return of the fdatasync that covers it. With three writers,
// the "majority" line is the second of the three to make each record
// durable: the floor of a 3-node cluster whose nodes share the disk.
//
//	go run ./scripts/diskfloor -dir /tmp -rate 50000 -duration 20s
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

func main() {
	writers := flag.Int("writers", 3, "writers, each with a file of its own")
	rate := flag.Float64("rate", 50000, "records a second per writer")
	size := flag.Int("size", 180, "bytes per record (a 128 B value with its key and framing)")
	dur := flag.Duration("duration", 20*time.Second, "how long to write")
	dir := flag.String("dir", os.TempDir(), "directory for the files (on the disk to measure); they are removed")
	flag.Parse()
	if *writers < 1 || *rate <= 0 || *size < 1 || *dur <= 0 {
		fmt.Fprintln(os.Stderr, "diskfloor: want -writers >= 1, -rate > 0, -size >= 1, -duration > 0")
		os.Exit(2)
	}
	lat := make([][]time.Duration, *writers)
	errs := make([]error, *writers)
	var wg sync.WaitGroup
	for w := range *writers {
		wg.Go(func() {
			lat[w], errs[w] = write(filepath.Join(*dir, fmt.Sprintf("diskfloor-%d", w)), *rate, *size, *dur)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			fmt.Fprintln(os.Stderr, "diskfloor:", err)
			os.Exit(1)
		}
	}
	report("one writer", slices.Clone(lat[0]))
	if *writers > 1 {
		report(fmt.Sprintf("majority (%d of %d)", *writers/2+1, *writers), majority(lat))
	}
}

// write runs one writer and returns each record's latency.
func write(path string, rate float64, size int, dur time.Duration) ([]time.Duration, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	defer os.Remove(path)
	defer f.Close()
	buf := make([]byte, 1<<20)
	interval := time.Duration(float64(time.Second) / rate)
	lat := make([]time.Duration, 0, int(rate*dur.Seconds())+1)
	start := time.Now()
	var next int64 // the first record not yet written
	for time.Since(start) < dur {
		due := int64(time.Since(start)/interval) + 1 // records arrived so far
		if due <= next {
			time.Sleep(20 * time.Microsecond)
			continue
		}
		for n := int(due-next) * size; n > 0; n -= len(buf) {
			if _, err := f.Write(buf[:min(n, len(buf))]); err != nil {
				return nil, err
			}
		}
		if err := f.Sync(); err != nil {
			return nil, err
		}
		done := time.Now()
		for i := next; i < due; i++ {
			lat = append(lat, done.Sub(start.Add(time.Duration(i)*interval)))
		}
		next = due
	}
	return lat, nil
}

// majority returns, per record, the latency of the writer that made it
// durable at a majority.
func majority(lat [][]time.Duration) []time.Duration {
	n := len(lat[0])
	for _, l := range lat {
		n = min(n, len(l))
	}
	out := make([]time.Duration, n)
	v := make([]time.Duration, len(lat))
	for i := range n {
		for w := range lat {
			v[w] = lat[w][i]
		}
		slices.Sort(v)
		out[i] = v[len(v)/2]
	}
	return out
}

func report(name string, l []time.Duration) {
	if len(l) == 0 {
		fmt.Printf("%s: no records\n", name)
		return
	}
	slices.Sort(l)
	q := func(p float64) time.Duration { return l[int(p*float64(len(l)-1))].Round(time.Microsecond) }
	fmt.Printf("%s: %d records  p50 %v  p90 %v  p99 %v  p99.9 %v  max %v\n", name, len(l), q(.5), q(.9), q(.99), q(.999), q(1))
}
