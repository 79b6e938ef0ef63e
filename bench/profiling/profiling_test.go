package profiling

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/bench/profiling/profilingtest"
	"github.com/raftbench/raftbench/raft/node"
)

// spin burns CPU on the calling goroutine for d.
func spin(d time.Duration) uint64 {
	var x uint64
	for end := time.Now().Add(d); time.Now().Before(end); {
		for i := 0; i < 10000; i++ {
			x = x*6364136223846793005 + 1442695040888963407
		}
	}
	return x
}

// contend makes mutex contention and blocking for the mutex and block
// profiles.
func contend(d time.Duration) {
	var mu sync.Mutex
	var wg sync.WaitGroup
	end := time.Now().Add(d)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(end) {
				mu.Lock()
				time.Sleep(100 * time.Microsecond)
				mu.Unlock()
			}
		}()
	}
	c := make(chan int)
	go func() {
		for time.Now().Before(end) {
			time.Sleep(2 * time.Millisecond)
			c <- 1
		}
		close(c)
	}()
	for range c {
	}
	wg.Wait()
}

func TestPushArrivesWithTagsAndLabels(t *testing.T) {
	r, srv := newReceiver(t, 0)
	tags := map[string]string{TagRunID: "run-test", TagEngine: "raft", TagWorkload: "kv-r50-v128-uniform", "host": "ci"}
	p, err := Start(Config{ServerURL: srv.URL, AppName: "raftbench-test", Tags: tags, UploadInterval: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if got := runtime.SetMutexProfileFraction(-1); got != DefaultMutexProfileFraction {
		t.Errorf("mutex profile fraction while profiling: got %d, want %d", got, DefaultMutexProfileFraction)
	}
	node.SetProfileLabel(node.LabelPhase, "measure")
	defer node.SetProfileLabel(node.LabelPhase, "")
	done := make(chan struct{})
	go func() { // a goroutine labelled as node 1's are
		defer close(done)
		l := node.NewGoroutineLabels(node.LabelNode, "1", node.LabelRole, "leader")
		for range 6 {
			l.Refresh()
			spin(100 * time.Millisecond)
		}
	}()
	contend(400 * time.Millisecond)
	<-done
	start := time.Now()
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	t.Logf("Stop took %v", time.Since(start))
	if got := runtime.SetMutexProfileFraction(-1); got != 0 {
		t.Errorf("mutex profile fraction after Stop: got %d, want 0", got)
	}
	if p.Failures() != 0 {
		t.Errorf("%d failures, first %v", p.Failures(), p.Err())
	}

	pushes, errs := r.Pushes(), r.Errors()
	for _, err := range errs {
		t.Errorf("receiver refused a push: %v", err)
	}
	if len(pushes) == 0 {
		t.Fatal("no push arrived")
	}
	kinds := map[string]bool{}
	labelled := false
	for _, ps := range pushes {
		if ps.App != "raftbench-test" {
			t.Errorf("application %q, want raftbench-test", ps.App)
		}
		for k, v := range tags {
			if ps.Tags[k] != v {
				t.Errorf("push %s: tag %s=%q, want %q", ps.Query.Get("name"), k, ps.Tags[k], v)
			}
		}
		for _, st := range ps.Profile.SampleTypes {
			kinds[st] = true
		}
		if ps.Profile.SampleTypes[0] == "samples/count" { // the CPU profile
			for _, s := range ps.Profile.Samples {
				l := s.Labels
				if l[node.LabelNode] == "1" && l[node.LabelRole] == "leader" && l[node.LabelPhase] == "measure" {
					labelled = true
				}
			}
		}
	}
	for _, want := range []string{"samples/count", "cpu/nanoseconds", "alloc_objects/count", "alloc_space/bytes",
		"inuse_objects/count", "inuse_space/bytes", "goroutine/count", "contentions/count", "delay/nanoseconds"} {
		if !kinds[want] {
			t.Errorf("no profile with sample type %s; got %v", want, kinds)
		}
	}
	if !labelled {
		t.Error("no CPU sample labelled node=1 role=leader phase=measure")
	}
}

// syncBuffer is a log's output, written by pyroscope-go's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestPushFailureIsLoggedOnceAndDoesNotSlowTheRun(t *testing.T) {
	_, failing := newReceiver(t, http.StatusInternalServerError)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + ln.Addr().String()
	ln.Close()
	for name, u := range map[string]string{"status 500": failing.URL, "closed port": closed} {
		t.Run(name, func(t *testing.T) {
			var out syncBuffer
			log := slog.New(slog.NewTextHandler(&out, nil))
			p, err := Start(Config{ServerURL: u, Logger: log, UploadInterval: 100 * time.Millisecond,
				PushTimeout: time.Second, Tags: map[string]string{TagRunID: "fail"}})
			if err != nil {
				t.Fatal(err)
			}
			// Work goes on at full speed while every push fails.
			start := time.Now()
			spin(700 * time.Millisecond)
			if d := time.Since(start); d > 2*time.Second {
				t.Errorf("700ms of work took %v", d)
			}
			stopStart := time.Now()
			if err := p.Stop(); err != nil {
				t.Errorf("Stop: %v", err)
			}
			if d := time.Since(stopStart); d > 2*time.Second {
				t.Errorf("Stop took %v with a failing server", d)
			}
			if p.Failures() < 2 {
				t.Errorf("%d failures counted, want several (one a push)", p.Failures())
			}
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			if len(lines) != 1 || !strings.Contains(lines[0], "pyroscope: pushing profiles failed") {
				t.Errorf("log: got %d lines %q, want one", len(lines), lines)
			}
			t.Logf("%d failures, logged: %s", p.Failures(), lines[0])
		})
	}
}

func TestStopReturnsWhenTheServerHangs(t *testing.T) {
	hang := make(chan struct{})
	srv := newHangingServer(t, hang)
	p, err := Start(Config{ServerURL: srv, UploadInterval: time.Hour, PushTimeout: time.Minute,
		StopTimeout: 500 * time.Millisecond, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Stop()
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("Stop took %v, want about StopTimeout", d)
	}
	if err == nil {
		t.Error("Stop: no error for an abandoned last push")
	}
	close(hang)
}

func newHangingServer(t *testing.T, hang chan struct{}) string {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		select {
		case <-hang:
		case <-req.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

// newReceiver serves a profilingtest.Receiver answering status (0: 200).
func newReceiver(t *testing.T, status int) (*profilingtest.Receiver, *httptest.Server) {
	r := &profilingtest.Receiver{Status: status}
	srv := httptest.NewServer(r)
	t.Cleanup(srv.Close)
	return r, srv
}

func TestValidation(t *testing.T) {
	ok := Config{ServerURL: "http://127.0.0.1:4040"}
	tests := []struct {
		name string
		cfg  func(c *Config)
		want string
	}{
		{"no URL", func(c *Config) { c.ServerURL = "" }, "want http://HOST:PORT"},
		{"no scheme", func(c *Config) { c.ServerURL = "127.0.0.1:4040" }, "pyroscope server URL"},
		{"ftp", func(c *Config) { c.ServerURL = "ftp://h:1" }, "want http://HOST:PORT"},
		{"bad URL", func(c *Config) { c.ServerURL = "http://[::1" }, "pyroscope server URL"},
		{"query", func(c *Config) { c.ServerURL = "http://h:1/?a=b" }, "no query"},
		{"app", func(c *Config) { c.AppName = "raft bench{x}" }, "application name"},
		{"tag key", func(c *Config) { c.Tags = map[string]string{"1abc": "v"} }, "[a-zA-Z_]"},
		{"tag key dash", func(c *Config) { c.Tags = map[string]string{"a-b": "v"} }, "[a-zA-Z_]"},
		{"reserved", func(c *Config) { c.Tags = map[string]string{"__name__": "v"} }, "reserved"},
		{"service_name", func(c *Config) { c.Tags = map[string]string{"service_name": "v"} }, "application name"},
		{"goroutine label", func(c *Config) { c.Tags = map[string]string{"node": "1"} }, "per-goroutine"},
		{"empty value", func(c *Config) { c.Tags = map[string]string{"a": ""} }, "empty value"},
		{"comma value", func(c *Config) { c.Tags = map[string]string{"a": "x,y"} }, "not allowed"},
		{"profile type", func(c *Config) { c.ProfileTypes = []ProfileType{"wall"} }, "profile type"},
	}
	for _, tt := range tests {
		c := ok
		tt.cfg(&c)
		err := c.validate()
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: got %v, want an error with %q", tt.name, err, tt.want)
		}
	}
	c := ok
	if err := c.validate(); err != nil || c.AppName != "raftbench" || len(c.ProfileTypes) != len(DefaultProfileTypes) {
		t.Errorf("defaults: %v %+v", err, c)
	}
}

func TestParseTags(t *testing.T) {
	got, err := ParseTags(" env=ci, host.name=box_1 ")
	if err != nil || len(got) != 2 || got["env"] != "ci" || got["host.name"] != "box_1" {
		t.Errorf("got %v, %v", got, err)
	}
	if got, err := ParseTags(""); err != nil || len(got) != 0 {
		t.Errorf("empty: got %v, %v", got, err)
	}
	for _, bad := range []string{"a", "a=1,a=2", "=v", "k=", "9k=v", "k=v w", "phase=x", "a=b,"} {
		if _, err := ParseTags(bad); err == nil {
			t.Errorf("ParseTags(%q): no error", bad)
		}
	}
	if v := TagValue("kv r=0.5, {x}"); v != "kv-r-0.5-x" {
		t.Errorf("TagValue: got %q", v)
	}
}

// TestPushToPyroscope pushes to a real server (PYROSCOPE_URL) and asks it
// which applications it holds.
func TestPushToPyroscope(t *testing.T) {
	u := os.Getenv("PYROSCOPE_URL")
	if u == "" {
		t.Skip("PYROSCOPE_URL is not set: no Pyroscope server to push to (e.g. PYROSCOPE_URL=http://127.0.0.1:4040 after `make pyroscope`)")
	}
	app := fmt.Sprintf("raftbench-e2e-%d", time.Now().UnixNano())
	p, err := Start(Config{ServerURL: u, AppName: app, UploadInterval: time.Second, Tags: map[string]string{TagRunID: "e2e"}})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		l := node.NewGoroutineLabels(node.LabelNode, "1")
		for range 20 {
			l.Refresh()
			spin(100 * time.Millisecond)
		}
	}()
	<-done
	if err := p.Stop(); err != nil {
		t.Fatal(err)
	}
	if p.Failures() != 0 {
		t.Fatalf("%d push failures, first: %v", p.Failures(), p.Err())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for {
		names, err := labelValues(ctx, u, AppLabel)
		if err == nil && strings.Contains(names, `"`+app+`"`) {
			nodes, err := labelValues(ctx, u, node.LabelNode)
			if err != nil || !strings.Contains(nodes, `"1"`) {
				t.Errorf("node label values: %s, %v; want one with \"1\"", nodes, err)
			}
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the server does not list %s among its applications: %s, %v", app, names, err)
		case <-time.After(time.Second):
		}
	}
}
