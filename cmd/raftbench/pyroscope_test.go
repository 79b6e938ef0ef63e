package main

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/raftbench/raftbench/bench/profiling/profilingtest"
)

// TestRunPushesProfiles runs `raftbench run --pyroscope-url` against an
// in-process receiver: the pushes carry the run's static tags and the
// user's, the CPU profile's samples the nodes' labels, and report.json
// records the settings.
func TestRunPushesProfiles(t *testing.T) {
	r := &profilingtest.Receiver{}
	srv := httptest.NewServer(r)
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "run")
	var out, errs bytes.Buffer
	code := run(context.Background(), []string{"run", "--transport", "mem", "--fsync=false", "--warmup", "300ms", "--duration", "1s",
		"--clients", "16", "--quiet", "--out", dir, "--pyroscope-url", srv.URL, "--pyroscope-tags", "host=ci,team.name=raft"}, &out, &errs)
	if code != 0 {
		t.Fatalf("exit %d: %s%s", code, out.String(), errs.String())
	}
	if errs.Len() > 0 {
		t.Errorf("stderr: %s", errs.String())
	}
	pushes := r.Pushes()
	if len(pushes) == 0 || len(r.Errors()) > 0 {
		t.Fatalf("%d pushes, refused: %v", len(pushes), r.Errors())
	}
	want := map[string]string{"run_id": filepath.ToSlash(dir), "engine": "raft",
		"workload": "kv-read0.5-value128-uniform-closed16", "host": "ci", "team.name": "raft"}
	seen := map[string]map[string]bool{} // label -> values on CPU samples
	for _, p := range pushes {
		if p.App != "raftbench" {
			t.Errorf("app %q, want raftbench", p.App)
		}
		for k, v := range want {
			if p.Tags[k] != v {
				t.Errorf("tag %s: got %q, want %q", k, p.Tags[k], v)
			}
		}
		if p.Profile.SampleTypes[0] != "samples/count" {
			continue
		}
		for _, s := range p.Profile.Samples {
			for k, v := range s.Labels {
				if seen[k] == nil {
					seen[k] = map[string]bool{}
				}
				seen[k][v] = true
			}
		}
	}
	// A second of load gives each node's goroutines some samples, and the
	// measured phase most of them.
	if len(seen["node"]) < 2 || !seen["role"]["leader"] || !seen["role"]["follower"] || !seen["phase"]["measure"] {
		t.Errorf("CPU samples labelled %v; want node 1, 2 or 3, role leader and follower, phase measure", seen)
	}
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Config struct {
			Flags map[string]string `json:"flags"`
		} `json:"config"`
	}
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if f := rep.Config.Flags; f["pyroscope-url"] != srv.URL || f["pyroscope-app"] != "raftbench" || f["pyroscope-tags"] != "host=ci,team.name=raft" {
		t.Errorf("report flags: %v", f)
	}
}

func TestPyroscopeFlagErrors(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--pyroscope-url", "localhost:4040"}, "--pyroscope-url"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--pyroscope-tags", "9x=1"}, "--pyroscope-tags"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--pyroscope-tags", "node=1"}, "per-goroutine"},
		{[]string{"run", "--pyroscope-tags", "a=b"}, "need --pyroscope-url"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--profile"}, "choose one"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--pyroscope-app", "a b"}, "application name"},
		{[]string{"election", "--pyroscope-url", "ftp://x"}, "--pyroscope-url"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--pyroscope-profiles", "cpu,wall"}, "profile type"},
		{[]string{"run", "--pyroscope-url", "http://127.0.0.1:4040", "--pyroscope-interval", "10ms"}, "at least 1s"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), append(tc.args, "--out", t.TempDir()), &out, &errs)
		if code == 0 || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want an error mentioning %q", tc.args, code, errs.String(), tc.want)
		}
	}
}
