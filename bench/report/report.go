package report

import "time"

// SchemaRun is the schema of a load run's report.json.
const SchemaRun = "raftbench/run/v1"

// Report is the content of a load run's report.json. See the package
// documentation for the meaning of every field.
type Report struct {
	Schema      string              `json:"schema"`
	Name        string              `json:"name,omitempty"`
	Config      any                 `json:"config,omitempty"`
	Start       time.Time           `json:"start"`
	End         time.Time           `json:"end"`
	DurationSec float64             `json:"duration_sec"`
	Ops         int64               `json:"ops"`
	Errors      map[string]int64    `json:"errors"`
	Throughput  float64             `json:"throughput_ops_per_sec"`
	Latency     Latency             `json:"latency_us"`
	StartLag    *Latency            `json:"start_lag_us,omitempty"` // open loop only
	ByOp        map[string]OpReport `json:"by_op,omitempty"`        // OpRead, OpWrite
	Resources   *Resources          `json:"resources,omitempty"`
	Disk        *Disk               `json:"disk,omitempty"`
	CPUProfile  *CPUProfile         `json:"cpu_profile,omitempty"` // with --profile only
	Series      []Point             `json:"series"`
}

// Latency summarises the latencies of successful operations, in
// microseconds.
type Latency struct {
	P50  int64   `json:"p50"`
	P90  int64   `json:"p90"`
	P99  int64   `json:"p99"`
	P999 int64   `json:"p999"`
	Max  int64   `json:"max"`
	Mean float64 `json:"mean"`
	Min  int64   `json:"min"`
}

// OpReport is one kind of operation's share of a run: its successful
// operations, its failed ones, and its own latencies.
type OpReport struct {
	Ops        int64   `json:"ops"`
	Errors     int64   `json:"errors"`
	Throughput float64 `json:"throughput_ops_per_sec"`
	Latency    Latency `json:"latency_us"`
}

// Resources is what the run's process used. The load generator runs in
// the same process as an in-process cluster, so its share is included;
// it is the same for every engine driven the same way.
type Resources struct {
	// CPUSeconds is the process's user and system CPU time during the
	// measured phase.
	CPUSeconds float64 `json:"cpu_seconds"`
	// CPUSecondsPer100kOps is CPUSeconds per 100,000 successful
	// operations.
	CPUSecondsPer100kOps float64 `json:"cpu_seconds_per_100k_ops"`
	// MaxRSSBytes is the process's peak resident set size over the whole
	// run, warm-up and start included.
	MaxRSSBytes int64 `json:"max_rss_bytes"`
}

// Disk is what the cluster's disks did in the measured phase: the group
// commits of every node, each ended by one fdatasync. Only for engines that
// report their group commits, and only with fsync on.
type Disk struct {
	// Fsyncs is the group commits synced, over all nodes.
	Fsyncs       int64   `json:"fsyncs"`
	FsyncsPerSec float64 `json:"fsyncs_per_sec"`
	// EntriesPerFsync is the log entries written per group commit, on
	// average.
	EntriesPerFsync float64 `json:"entries_per_fsync"`
	// FsyncUS is the time of each fdatasync in microseconds.
	FsyncUS Latency `json:"fsync_us"`
}

// CPUProfile is the measured phase's CPU profile divided among the parts
// of the process (package bench/cpusplit names them: engine,
// state_machine, log_storage, load, gc, runtime). The engine's part is
// the only one that differs between engines driven the same way.
type CPUProfile struct {
	// ProfiledSec is the CPU time the profile sampled, over all parts.
	ProfiledSec float64 `json:"profiled_sec"`
	// Sec is each part's CPU time; USPerOp is it per successful
	// operation, in microseconds.
	Sec     map[string]float64 `json:"sec"`
	USPerOp map[string]float64 `json:"us_per_op"`
}

// PartUSPerOp returns a part's microseconds per operation, and the sum of
// every other part's.
func (c *CPUProfile) PartUSPerOp(part string) (mine, others float64) {
	for k, v := range c.USPerOp {
		if k == part {
			mine += v
		} else {
			others += v
		}
	}
	return mine, others
}

// Point is one second of a run's time series.
type Point struct {
	T      int   `json:"t"`
	Ops    int64 `json:"ops"`
	Errors int64 `json:"errors"`
	P50US  int64 `json:"p50_us"`
	P99US  int64 `json:"p99_us"`
}

// ErrorCount returns the total number of failed operations.
func (r Report) ErrorCount() int64 {
	var n int64
	for _, c := range r.Errors {
		n += c
	}
	return n
}
