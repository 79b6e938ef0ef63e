package metrics_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/metrics"
	"github.com/raftbench/raftbench/bench/report"
	"github.com/raftbench/raftbench/workloads"
)

// scrape fetches url in the text format and parses it.
func scrape(t *testing.T, url string) map[string]*dto.MetricFamily {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/plain; version=0.0.4")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %s: %s", url, resp.Status, b)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parsing the scrape: %v", err)
	}
	return fams
}

// series returns the metrics of family name whose labels include want.
func series(fams map[string]*dto.MetricFamily, name string, want map[string]string) []*dto.Metric {
	f := fams[name]
	if f == nil {
		return nil
	}
	var out []*dto.Metric
	for _, m := range f.GetMetric() {
		ok := true
		for k, v := range want {
			found := false
			for _, l := range m.GetLabel() {
				if l.GetName() == k && l.GetValue() == v {
					found = true
				}
			}
			ok = ok && found
		}
		if ok {
			out = append(out, m)
		}
	}
	return out
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}

func gaugeByNode(fams map[string]*dto.MetricFamily, name string) map[string]float64 {
	out := map[string]float64{}
	for _, m := range series(fams, name, nil) {
		out[label(m, "node")] = m.GetGauge().GetValue()
	}
	return out
}

func histCount(fams map[string]*dto.MetricFamily, name string, want map[string]string) uint64 {
	var n uint64
	for _, m := range series(fams, name, want) {
		n += m.GetHistogram().GetSampleCount()
	}
	return n
}

func counterSum(fams map[string]*dto.MetricFamily, name string, want map[string]string) float64 {
	var v float64
	for _, m := range series(fams, name, want) {
		v += m.GetCounter().GetValue()
	}
	return v
}

// TestScrapeRunningCluster serves /metrics for a 3-node cluster under a
// short load and checks what a scraper sees.
func TestScrapeRunningCluster(t *testing.T) {
	_, col, err := metrics.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(col.Handler())
	defer srv.Close()

	ctx := context.Background()
	eng := bench.RaftEngine{Observer: col.Nodes("raft")}
	c, err := eng.Start(ctx, bench.ClusterConfig{Nodes: 3, Transport: "mem", Fsync: true,
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond,
		MaxInflight: 64, SnapshotEntries: 200, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for range c.RoleChanges() {
		}
	}()
	deadline := time.Now().Add(10 * time.Second)
	for c.Leader() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no leader within 10s")
		}
		time.Sleep(5 * time.Millisecond)
	}

	before := scrape(t, srv.URL)
	terms := gaugeByNode(before, "raftbench_raft_term")
	if len(terms) != 3 {
		t.Fatalf("raftbench_raft_term: got nodes %v, want 3", terms)
	}
	for n, v := range terms {
		if v < 1 {
			t.Errorf("node %s: term %v, want >= 1", n, v)
		}
	}
	leaders := series(before, "raftbench_raft_role", map[string]string{"role": "leader"})
	nLeaders := 0
	for _, m := range leaders {
		if m.GetGauge().GetValue() == 1 {
			nLeaders++
		}
	}
	if len(leaders) != 3 || nLeaders != 1 {
		t.Errorf("raftbench_raft_role{role=leader}: %d series, %d at 1; want 3 and 1", len(leaders), nLeaders)
	}
	if got := len(series(before, "raftbench_raft_role", nil)); got != 12 {
		t.Errorf("raftbench_raft_role: %d series, want 3 nodes x 4 roles", got)
	}
	commitBefore := gaugeByNode(before, "raftbench_raft_commit_index")

	load := col.Load("raft")
	_, err = bench.RunLoad(ctx, c, bench.LoadConfig{Clients: 8, Duration: 700 * time.Millisecond, Warmup: 100 * time.Millisecond,
		Workload: workloads.GeneratorConfig{Seed: 1, ValueBytesMin: 64, ValueBytesMax: 64, ReadRatio: 0.5,
			Keys: workloads.KeyConfig{Distribution: workloads.Uniform, Keys: 1000}}},
		func(start time.Time) bench.Recorder { return load.Wrap(report.NewRecorder(start)) }, nil)
	if err != nil {
		t.Fatal(err)
	}

	// Applies and status copies trail the commits a little.
	var after map[string]*dto.MetricFamily
	for deadline := time.Now().Add(5 * time.Second); ; {
		after = scrape(t, srv.URL)
		ok := true
		for n, v := range gaugeByNode(after, "raftbench_raft_applied_index") {
			ok = ok && v > commitBefore[n]
		}
		if ok || time.Now().After(deadline) {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	for n, v := range gaugeByNode(after, "raftbench_raft_commit_index") {
		if v <= commitBefore[n] {
			t.Errorf("node %s: commit index %v after writes, %v before: want it higher", n, v, commitBefore[n])
		}
	}
	for n, v := range gaugeByNode(after, "raftbench_raft_applied_index") {
		if v <= commitBefore[n] {
			t.Errorf("node %s: applied index %v after writes, commit %v before: want it higher", n, v, commitBefore[n])
		}
	}
	for _, name := range []string{"raftbench_raft_fsync_seconds", "raftbench_raft_entries_per_append", "raftbench_raft_entries_per_message"} {
		if n := histCount(after, name, nil); n == 0 {
			t.Errorf("%s: no observations", name)
		}
	}
	if v := counterSum(after, "raftbench_raft_proposals_total", nil); v < 1 {
		t.Errorf("raftbench_raft_proposals_total: %v, want > 0", v)
	}
	if v := counterSum(after, "raftbench_raft_elections_won_total", nil); v < 1 {
		t.Errorf("raftbench_raft_elections_won_total: %v, want >= 1", v)
	}
	if v := counterSum(after, "raftbench_raft_leader_changes_total", nil); v < 3 {
		t.Errorf("raftbench_raft_leader_changes_total: %v, want >= 3 (every node learned of a leader)", v)
	}
	if n := len(series(after, "raftbench_raft_inflight_messages", nil)); n != 2 {
		t.Errorf("raftbench_raft_inflight_messages: %d series, want 2 (the leader's followers)", n)
	}
	reads := counterSum(after, "raftbench_load_ops_total", map[string]string{"engine": "raft", "kind": "read"})
	writes := counterSum(after, "raftbench_load_ops_total", map[string]string{"engine": "raft", "kind": "write"})
	if reads < 1 || writes < 1 {
		t.Errorf("raftbench_load_ops_total: read %v, write %v; want both > 0", reads, writes)
	}
	if n := histCount(after, "raftbench_load_latency_seconds", map[string]string{"engine": "raft"}); float64(n) != reads+writes {
		t.Errorf("raftbench_load_latency_seconds: %d observations, want %v (one per op)", n, reads+writes)
	}
	if got := len(series(after, "raftbench_load_errors_total", nil)); got < 5 {
		t.Errorf("raftbench_load_errors_total: %d series, want one per error kind from the start", got)
	}
	if fams := after["go_goroutines"]; fams == nil {
		t.Error("go_goroutines missing: the registry should carry the Go collector")
	}

	// A stopped cluster's nodes leave the state gauges.
	c.Close()
	if got := series(scrape(t, srv.URL), "raftbench_raft_term", nil); len(got) != 0 {
		t.Errorf("after Close: %d raftbench_raft_term series, want none", len(got))
	}
}

// TestRecorderPassesThrough checks the wrapper records into the inner
// recorder exactly what it was told, lags included.
func TestRecorderPassesThrough(t *testing.T) {
	_, col, err := metrics.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	inner := report.NewRecorder(start)
	r := col.Load("x").Wrap(inner)
	r.Record(start, time.Millisecond)
	r.Record(start, 2*time.Millisecond)
	r.Error(start, bench.ErrKindTimeout)
	r.(bench.LagRecorder).Lag(start, time.Millisecond)
	r.(bench.OpRecorder).Op(true, time.Millisecond, "")
	r.(bench.OpRecorder).Op(false, time.Millisecond, "weird")
	if inner.Ops() != 2 || inner.Errors()[bench.ErrKindTimeout] != 1 {
		t.Errorf("inner recorder: %d ops, errors %v; want 2 and timeout 1", inner.Ops(), inner.Errors())
	}
	byOp := inner.Report("x", start.Add(time.Second), nil).ByOp
	if byOp[report.OpWrite].Ops != 1 || byOp[report.OpRead].Errors != 1 {
		t.Errorf("inner recorder by op %+v: want the write and the failed read passed on", byOp)
	}
}
