package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestMetricsAddrErrors(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"run", "--transport", "mem", "--metrics-addr", "nonsense"}, 1, "--metrics-addr \"nonsense\": want HOST:PORT"},
		{[]string{"run", "--transport", "mem", "--metrics-addr", "127.0.0.1:99999"}, 1, "--metrics-addr 127.0.0.1:99999"},
		{[]string{"run", "--transport", "mem", "--metrics-addr", busy.Addr().String()}, 1, "address already in use"},
		{[]string{"election", "--metrics-addr", "127.0.0.1:0"}, 2, "--metrics-addr needs --mode real"},
		{[]string{"election", "--mode", "real", "--metrics-addr", "nonsense"}, 2, "want HOST:PORT"},
	} {
		var out, errs bytes.Buffer
		code := run(context.Background(), tc.args, &out, &errs)
		if code != tc.code || !strings.Contains(errs.String(), tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d mentioning %q", tc.args, code, errs.String(), tc.code, tc.want)
		}
		if n := strings.Count(strings.TrimSpace(errs.String()), "\n"); n > 0 {
			t.Errorf("%v: want one error line, got %q", tc.args, errs.String())
		}
	}
}

// TestRunServesMetrics scrapes a running `raftbench run --metrics-addr`.
func TestRunServesMetrics(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // free again for the run (a race with other listeners, unlikely)

	done := make(chan int, 1)
	var out, errs bytes.Buffer
	go func() {
		done <- run(context.Background(), []string{"run", "--transport", "mem", "--fsync=false", "--clients", "4",
			"--duration", "3s", "--warmup", "100ms", "--keys", "100", "--out", t.TempDir() + "/run", "--metrics-addr", addr}, &out, &errs)
	}()
	want := []string{`raftbench_raft_term{engine="raft",node="1"}`, `raftbench_raft_role{engine="raft",node="2",role="leader"}`,
		`raftbench_load_ops_total{engine="raft",kind="write"}`, `raftbench_raft_fsync_seconds_bucket`, "go_goroutines"}
	var body string
	deadline := time.Now().Add(10 * time.Second)
	for {
		if resp, err := http.Get("http://" + addr + "/metrics"); err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			body = string(b)
			all := true
			for _, w := range want {
				all = all && strings.Contains(body, w)
			}
			if all {
				break
			}
		}
		select {
		case code := <-done:
			t.Fatalf("run ended (exit %d, %s) before /metrics showed %q:\n%s", code, errs.String(), want, body)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("/metrics lacks some of %q after 10s:\n%s", want, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if code := <-done; code != 0 {
		t.Fatalf("exit %d: %s", code, errs.String())
	}
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the metrics server outlived the run")
	}
}
