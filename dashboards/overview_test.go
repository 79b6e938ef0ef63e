package dashboards

import (
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/metrics"
	"github.com/raftbench/raftbench/bench/report"
	"github.com/raftbench/raftbench/workloads"
)

// promDashboard is the part of a dashboard the metric check reads: the
// PromQL of every panel (rows' panels included) and variable.
type promDashboard struct {
	Templating struct {
		List []struct {
			Name       string          `json:"name"`
			Query      json.RawMessage `json:"query"` // a string, or {"query": "..."}
			Datasource datasource      `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []promPanel `json:"panels"`
}

type datasource struct {
	Type string `json:"type"`
	UID  string `json:"uid"`
}

type promPanel struct {
	Title      string      `json:"title"`
	Datasource *datasource `json:"datasource"`
	Targets    []struct {
		Expr       string      `json:"expr"`
		Datasource *datasource `json:"datasource"`
	} `json:"targets"`
	Panels []promPanel `json:"panels"`
}

// query is one PromQL query found in a dashboard.
type query struct {
	where, expr string
	ds          *datasource
}

func (d *promDashboard) queries(file string) []query {
	var out []query
	var walk func(ps []promPanel)
	walk = func(ps []promPanel) {
		for _, p := range ps {
			for i, t := range p.Targets {
				if t.Expr == "" {
					continue // another data source's target (Pyroscope)
				}
				ds := t.Datasource
				if ds == nil {
					ds = p.Datasource
				}
				out = append(out, query{fmt.Sprintf("%s: panel %q target %d", file, p.Title, i), t.Expr, ds})
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		var s string
		var obj struct {
			Query string `json:"query"`
		}
		if json.Unmarshal(v.Query, &s) != nil && json.Unmarshal(v.Query, &obj) == nil {
			s = obj.Query
		}
		if v.Datasource.Type == "prometheus" && s != "" {
			ds := v.Datasource
			out = append(out, query{fmt.Sprintf("%s: variable %q", file, v.Name), s, &ds})
		}
	}
	return out
}

var (
	// selectorRE is a metric of ours with its optional label matchers.
	selectorRE = regexp.MustCompile(`\b(` + metrics.Prefix + `[a-zA-Z0-9_]+)\b\s*(\{[^}]*\})?`)
	// promMatcherRE is one label matcher.
	promMatcherRE = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"`)
	// nameMatcherRE is a matcher on the metric name itself.
	nameMatcherRE = regexp.MustCompile(`__name__\s*(=~|=)\s*"((?:[^"\\]|\\.)*)"`)
	// groupingRE is a by (...) or without (...) clause.
	groupingRE = regexp.MustCompile(`\b(?:by|without)\s*\(([^)]*)\)`)
)

// family is what the code exports under one name.
type family struct {
	typ    dto.MetricType
	labels map[string]map[string]bool // label name -> values seen
}

// exported gathers reg into families by name.
func exported(mfs []*dto.MetricFamily) map[string]family {
	out := map[string]family{}
	for _, mf := range mfs {
		f := family{typ: mf.GetType(), labels: map[string]map[string]bool{}}
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if f.labels[l.GetName()] == nil {
					f.labels[l.GetName()] = map[string]bool{}
				}
				f.labels[l.GetName()][l.GetValue()] = true
			}
		}
		out[mf.GetName()] = f
	}
	return out
}

// lookup finds the family behind a name a query uses: the name itself or,
// for a histogram's series, the name without _bucket, _sum or _count.
// bucket reports a _bucket series (which has the label le).
func lookup(fams map[string]family, name string) (f family, bucket, ok bool) {
	if f, ok := fams[name]; ok {
		return f, false, true
	}
	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		base, cut := strings.CutSuffix(name, suffix)
		if f, ok := fams[base]; cut && ok && (f.typ == dto.MetricType_HISTOGRAM || f.typ == dto.MetricType_SUMMARY && suffix != "_bucket") {
			return f, suffix == "_bucket", true
		}
	}
	return family{}, false, false
}

// checkQuery returns what is wrong with expr against the exported
// families: a metric of ours the code does not export, a label it does
// not carry, a literal label value it never takes, or a grouping label
// that none of the query's metrics carries.
func checkQuery(expr string, fams map[string]family) []string {
	var probs []string
	carried := map[string]bool{"le": true} // labels of the query's metrics, for by (...)
	// {__name__=~"raftbench_raft_.+"} must match some exported name; the
	// matcher is then left out of the search for names.
	for _, m := range nameMatcherRE.FindAllStringSubmatch(expr, -1) {
		pattern := regexp.QuoteMeta(m[2])
		if m[1] == "=~" {
			pattern = m[2]
		}
		re, err := regexp.Compile("^(?:" + pattern + ")$")
		if err != nil {
			probs = append(probs, fmt.Sprintf("name matcher %q: %v", m[0], err))
			continue
		}
		matched := false
		for name, f := range fams {
			if re.MatchString(name) {
				matched = true
				for l := range f.labels {
					carried[l] = true
				}
			}
		}
		if !matched {
			probs = append(probs, fmt.Sprintf("name matcher %q matches no exported metric", m[0]))
		}
	}
	expr = nameMatcherRE.ReplaceAllString(expr, "")
	for _, m := range selectorRE.FindAllStringSubmatch(expr, -1) {
		name, sel := m[1], m[2]
		f, bucket, ok := lookup(fams, name)
		if !ok {
			probs = append(probs, fmt.Sprintf("metric %s is not exported", name))
			continue
		}
		for l := range f.labels {
			carried[l] = true
		}
		for _, mm := range promMatcherRE.FindAllStringSubmatch(sel, -1) {
			label, op, value := mm[1], mm[2], mm[3]
			if label == "le" && bucket {
				continue
			}
			values, ok := f.labels[label]
			if !ok {
				probs = append(probs, fmt.Sprintf("metric %s has no label %q", name, label))
				continue
			}
			if op == "=" && !strings.Contains(value, "$") && !values[value] {
				probs = append(probs, fmt.Sprintf("metric %s: label %s is never %q (seen: %v)", name, label, value, keys(values)))
			}
		}
	}
	if strings.Contains(expr, metrics.Prefix) {
		for _, g := range groupingRE.FindAllStringSubmatch(expr, -1) {
			for _, l := range strings.Split(g[1], ",") {
				if l = strings.TrimSpace(l); l != "" && !carried[l] {
					probs = append(probs, fmt.Sprintf("grouping label %q is carried by none of the query's metrics", l))
				}
			}
		}
	}
	return probs
}

func keys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// gatherAll runs a small cluster with every collector of bench/metrics,
// under a short load, so that every metric vector has children, and
// gathers it.
func gatherAll(t *testing.T) map[string]family {
	t.Helper()
	reg, col, err := metrics.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := bench.RaftEngine{Observer: col.Nodes("raft")}.Start(ctx, bench.ClusterConfig{Nodes: 3, Transport: "mem",
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond, MaxInflight: 16, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go func() {
		for range c.RoleChanges() {
		}
	}()
	for deadline := time.Now().Add(10 * time.Second); c.Leader() == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no leader within 10s")
		}
	}
	load := col.Load("raft")
	if _, err := bench.RunLoad(ctx, c, bench.LoadConfig{Clients: 2, Duration: 200 * time.Millisecond,
		Workload: workloads.GeneratorConfig{Seed: 1, ReadRatio: 0.5, ValueBytesMin: 8, ValueBytesMax: 8, Keys: workloads.KeyConfig{Keys: 100}}},
		func(start time.Time) bench.Recorder { return load.Wrap(report.NewRecorder(start)) }, nil); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return exported(mfs)
}

// TestDashboardMetricsExist checks every PromQL query of every dashboard
// under dashboards/ against what the code exports.
func TestDashboardMetricsExist(t *testing.T) {
	fams := gatherAll(t)
	var files []string
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".json") {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	used := map[string]bool{}
	for _, file := range files {
		b, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var d promDashboard
		if err := json.Unmarshal(b, &d); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, q := range d.queries(file) {
			total++
			if q.ds == nil || q.ds.UID != "prometheus" {
				t.Errorf("%s: PromQL on data source %+v, want uid \"prometheus\"", q.where, q.ds)
			}
			for _, p := range checkQuery(q.expr, fams) {
				t.Errorf("%s: %s\n\t%s", q.where, p, q.expr)
			}
			for _, m := range selectorRE.FindAllStringSubmatch(q.expr, -1) {
				used[m[1]] = true
			}
		}
	}
	if total < 20 {
		t.Fatalf("found %d PromQL queries in %v, want the overview's (20 or more)", total, files)
	}
	// Every metric of ours is on the overview: a new one needs a panel.
	for name := range fams {
		if !strings.HasPrefix(name, metrics.Prefix) {
			continue
		}
		shown := used[name] || used[name+"_bucket"] || used[name+"_count"] || used[name+"_sum"]
		if !shown {
			t.Errorf("metric %s is exported but no dashboard panel shows it", name)
		}
	}
}

// TestCheckQueryCatchesTypos checks the checker on queries that are wrong.
func TestCheckQueryCatchesTypos(t *testing.T) {
	fams := gatherAll(t)
	for _, tc := range []struct {
		expr string
		bad  bool
	}{
		{`histogram_quantile(0.99, sum by (le, node) (rate(raftbench_raft_fsync_seconds_bucket{engine=~"$engine"}[1m])))`, false},
		{`sum(rate(raftbench_raft_fsync_seconds_sum[1m])) / sum(rate(raftbench_raft_fsync_seconds_count[1m]))`, false},
		{`raftbench_raft_role{role="leader"} == 1`, false},
		{`sum by (engine, kind) (rate(raftbench_load_ops_total{kind="write"}[1m]))`, false},
		{`rate(raftbench_raft_proposal_total[1m])`, true},                // the name
		{`raftbench_raft_term_bucket`, true},                             // a gauge has no buckets
		{`raftbench_raft_role{rol="leader"}`, true},                      // the label
		{`raftbench_raft_role{role="leadr"}`, true},                      // the value
		{`sum by (nodes) (raftbench_raft_term)`, true},                   // the grouping label
		{`raftbench_load_ops_total{kind="reads"}`, true},                 // read, not reads
		{`histogram_quantile(0.5, raftbench_load_latency_bucket)`, true}, // _seconds missing
		{`label_values({__name__=~"raftbench_raft_.+"}, node)`, false},
		{`label_values({__name__=~"raftbench_rafts_.+"}, node)`, true},
	} {
		probs := checkQuery(tc.expr, fams)
		if got := len(probs) > 0; got != tc.bad {
			t.Errorf("checkQuery(%s): problems %q; want bad=%v", tc.expr, probs, tc.bad)
		}
	}
}
