package report

import "time"

// SchemaRun is the schema of a load run's report.json.
const SchemaRun = "raftbench/run/v1"

// Report is the content of a load run's report.json. See the package
// documentation for the meaning of every field.
type Report struct {
	Schema      string           `json:"schema"`
	Name        string           `json:"name,omitempty"`
	Config      any              `json:"config,omitempty"`
	Start       time.Time        `json:"start"`
	End         time.Time        `json:"end"`
	DurationSec float64          `json:"duration_sec"`
	Ops         int64            `json:"ops"`
	Errors      map[string]int64 `json:"errors"`
	Throughput  float64          `json:"throughput_ops_per_sec"`
	Latency     Latency          `json:"latency_us"`
	StartLag    *Latency         `json:"start_lag_us,omitempty"` // open loop only
	Series      []Point          `json:"series"`
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
