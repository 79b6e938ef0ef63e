package report_test

import (
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/raftbench/raftbench/bench/report"
)

// Each worker records into its own Recorder; at the end the recorders are
// merged and the run directory is written, then read back and compared.
func Example() {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	workers := []*report.Recorder{report.NewRecorder(start), report.NewRecorder(start)}
	for i := range 1000 {
		w := workers[i%len(workers)]
		intended := start.Add(time.Duration(i) * time.Millisecond) // open loop: 1000 ops/s
		if i%100 == 99 {
			w.Error(intended, report.ErrorTimeout)
			continue
		}
		w.Record(intended, time.Duration(200+i%300)*time.Microsecond)
	}
	all := workers[0]
	all.Merge(workers[1:]...)

	rep := all.Report("example", start.Add(time.Second), map[string]any{"rate": 1000})
	dir, err := os.MkdirTemp("", "raftbench-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	run := filepath.Join(dir, "run1")
	if err := all.WriteDir(run, rep); err != nil {
		log.Fatal(err)
	}

	loaded, err := report.Load(run)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(loaded.Ops, "ops,", loaded.Errors, "p50", loaded.Latency.P50, "µs")
	if err := report.Compare(os.Stdout, report.FormatCSV, []string{"a", "b"}, []report.Report{loaded, loaded}); err != nil {
		log.Fatal(err)
	}
	// Output:
	// 990 ops, map[timeout:10] p50 332 µs
	// run,throughput_ops_per_sec,throughput_ops_per_sec_ratio,p50_us,p50_us_ratio,p90_us,p90_us_ratio,p99_us,p99_us_ratio,p999_us,p999_us_ratio,max_us,max_us_ratio,errors
	// a,990.0,1.0000,332,1.0000,465,1.0000,495,1.0000,498,1.0000,498,1.0000,10
	// b,990.0,1.0000,332,1.0000,465,1.0000,495,1.0000,498,1.0000,498,1.0000,10
}
