package dashboards

import (
	"encoding/json"
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/bench/profiling"
	"github.com/raftbench/raftbench/raft/node"
)

// profilesDashboard is the part of profiles.json the test reads.
type profilesDashboard struct {
	Templating struct {
		List []struct {
			Name  string `json:"name"`
			Query struct {
				LabelName     string `json:"labelName"`
				ProfileTypeID string `json:"profileTypeId"`
			} `json:"query"`
			Datasource struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"list"`
	} `json:"templating"`
	Panels []struct {
		Title      string `json:"title"`
		Type       string `json:"type"`
		Datasource struct {
			UID string `json:"uid"`
		} `json:"datasource"`
		Targets []struct {
			ProfileTypeID string   `json:"profileTypeId"`
			LabelSelector string   `json:"labelSelector"`
			GroupBy       []string `json:"groupBy"`
			Datasource    struct {
				UID string `json:"uid"`
			} `json:"datasource"`
		} `json:"targets"`
	} `json:"panels"`
}

// matcherRE is one label matcher of a selector: name, operator, quoted value.
var matcherRE = regexp.MustCompile(`^\s*([a-zA-Z_][a-zA-Z0-9_.]*)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"\s*$`)

// selectorLabels parses `{a="x", b=~"$y"}` into its label names and values.
func selectorLabels(t *testing.T, sel string) map[string]string {
	t.Helper()
	s := strings.TrimSpace(sel)
	if !strings.HasPrefix(s, "{") || !strings.HasSuffix(s, "}") {
		t.Fatalf("selector %q: want {...}", sel)
	}
	out := map[string]string{}
	for _, m := range strings.Split(s[1:len(s)-1], ",") {
		g := matcherRE.FindStringSubmatch(m)
		if g == nil {
			t.Fatalf("selector %q: matcher %q does not parse", sel, m)
		}
		out[g[1]] = g[3]
	}
	return out
}

// goroutineLabelled are the profile types whose samples carry goroutine
// labels in Go (CPU and goroutine profiles); heap, mutex and block
// profiles carry none.
var goroutineLabelled = []string{"process_cpu:", "goroutines:"}

// profileTypes maps the Pyroscope profile type ids a panel may show to the
// profiling package's types that produce them.
var profileTypes = map[string]profiling.ProfileType{
	"process_cpu:cpu:nanoseconds:cpu:nanoseconds": profiling.CPU,
	"memory:alloc_space:bytes:space:bytes":        profiling.AllocSpace,
	"memory:alloc_objects:count:space:bytes":      profiling.AllocObjects,
	"memory:inuse_space:bytes:space:bytes":        profiling.InuseSpace,
	"memory:inuse_objects:count:space:bytes":      profiling.InuseObjects,
	"goroutines:goroutine:count:goroutine:count":  profiling.Goroutines,
	"mutex:contentions:count:contentions:count":   profiling.MutexCount,
	"mutex:delay:nanoseconds:contentions:count":   profiling.MutexDuration,
	"block:contentions:count:contentions:count":   profiling.BlockCount,
	"block:delay:nanoseconds:contentions:count":   profiling.BlockDuration,
}

// TestProfilesDashboard checks that every label a panel of profiles.json
// filters or groups on is one the code sets: the application name, a
// static tag (profiling.StaticTagKeys) or, for CPU and goroutine profiles,
// a goroutine label of the nodes (node.ProfileLabelKeys); that every
// template variable used is defined and asks for such a label; and that
// each main profile type has a flame graph.
func TestProfilesDashboard(t *testing.T) {
	b, err := os.ReadFile("profiles.json")
	if err != nil {
		t.Fatal(err)
	}
	var d profilesDashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("profiles.json: %v", err)
	}
	static := append([]string{profiling.AppLabel}, profiling.StaticTagKeys...)
	known := append(slices.Clone(static), node.ProfileLabelKeys...)

	vars := map[string]bool{}
	for _, v := range d.Templating.List {
		vars[v.Name] = true
		if v.Datasource.UID != "pyroscope" {
			t.Errorf("variable %s: data source %q, want pyroscope", v.Name, v.Datasource.UID)
		}
		if !slices.Contains(known, v.Query.LabelName) {
			t.Errorf("variable %s lists values of %q, which the code never sets (it sets %v)", v.Name, v.Query.LabelName, known)
		}
		if _, ok := profileTypes[v.Query.ProfileTypeID]; !ok {
			t.Errorf("variable %s: profile type %q unknown", v.Name, v.Query.ProfileTypeID)
		}
	}
	varRE := regexp.MustCompile(`\$\{?([a-zA-Z_][a-zA-Z0-9_]*)`)
	flames := map[profiling.ProfileType]bool{}
	for _, p := range d.Panels {
		if p.Datasource.UID != "pyroscope" {
			t.Errorf("panel %q: data source %q, want pyroscope", p.Title, p.Datasource.UID)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q queries nothing", p.Title)
		}
		for _, tg := range p.Targets {
			pt, ok := profileTypes[tg.ProfileTypeID]
			if !ok {
				t.Errorf("panel %q: profile type %q is none that profiling pushes", p.Title, tg.ProfileTypeID)
			}
			if !slices.Contains(profiling.DefaultProfileTypes, pt) {
				t.Errorf("panel %q: profile type %s is not pushed by default", p.Title, pt)
			}
			if p.Type == "flamegraph" {
				flames[pt] = true
			}
			labelled := false
			for _, prefix := range goroutineLabelled {
				labelled = labelled || strings.HasPrefix(tg.ProfileTypeID, prefix)
			}
			allowed := static
			if labelled {
				allowed = known
			}
			labels := selectorLabels(t, tg.LabelSelector)
			if labels[profiling.AppLabel] == "" {
				t.Errorf("panel %q: selector %s does not name the application", p.Title, tg.LabelSelector)
			}
			names := slices.Collect(func(yield func(string) bool) {
				for k := range labels {
					if !yield(k) {
						return
					}
				}
			})
			for _, k := range append(names, tg.GroupBy...) {
				if !slices.Contains(allowed, k) {
					t.Errorf("panel %q filters or groups on %q, which the code does not set on %s profiles (it sets %v)", p.Title, k, pt, allowed)
				}
			}
			for _, v := range labels {
				for _, m := range varRE.FindAllStringSubmatch(v, -1) {
					if !vars[m[1]] {
						t.Errorf("panel %q uses $%s, which no template variable defines", p.Title, m[1])
					}
				}
			}
		}
	}
	// One flame graph per main profile type.
	for _, group := range [][]profiling.ProfileType{
		{profiling.CPU}, {profiling.AllocObjects, profiling.AllocSpace}, {profiling.InuseObjects, profiling.InuseSpace},
		{profiling.Goroutines}, {profiling.MutexCount, profiling.MutexDuration}, {profiling.BlockCount, profiling.BlockDuration},
	} {
		if !slices.ContainsFunc(group, func(pt profiling.ProfileType) bool { return flames[pt] }) {
			t.Errorf("no flame graph of %v", group)
		}
	}
	// The node, role and phase filters are there.
	for _, k := range node.ProfileLabelKeys {
		if !vars[k] {
			t.Errorf("no template variable for the %s label", k)
		}
	}
}
