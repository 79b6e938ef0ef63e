package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/spf13/pflag"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/bench/election"
	"github.com/raftbench/raftbench/bench/metrics"
	"github.com/raftbench/raftbench/raft/node"
)

// metricsFlags registers --metrics-addr on fs. The function it returns
// checks it and, with an address, listens there and serves Prometheus
// metrics on /metrics until stop; without one it returns a nil server,
// whose methods do nothing. A bad or busy address is one error line
// before anything starts.
func metricsFlags(fs *pflag.FlagSet) func() (*metricsServer, error) {
	addr := fs.String("metrics-addr", "", "serve Prometheus metrics (the nodes' term, role, indexes, fsync, batching, elections; the load's ops, errors, latency) on http://ADDR/metrics, e.g. 127.0.0.1:9100")
	return func() (*metricsServer, error) {
		if *addr == "" {
			return nil, nil
		}
		return startMetrics(*addr)
	}
}

// metricsServer serves one process's metrics. A nil *metricsServer is
// valid: every method is then a no-op.
type metricsServer struct {
	col  *metrics.Collector
	srv  *http.Server
	addr string // the address it listens on (the port resolved)
	done chan struct{}
}

func startMetrics(addr string) (*metricsServer, error) {
	if _, _, err := net.SplitHostPort(addr); err != nil {
		return nil, fmt.Errorf("--metrics-addr %q: want HOST:PORT, e.g. 127.0.0.1:9100 (%v)", addr, err)
	}
	_, col, err := metrics.NewRegistry()
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr: %w", err)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("--metrics-addr %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", col.Handler())
	s := &metricsServer{col: col, addr: ln.Addr().String(), done: make(chan struct{}),
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}}
	go func() {
		defer close(s.done)
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			fmt.Fprintf(os.Stderr, "raftbench: metrics server: %v\n", err)
		}
	}()
	fmt.Fprintf(os.Stderr, "raftbench: Prometheus metrics on http://%s/metrics\n", s.addr)
	return s, nil
}

// stop ends the server, letting a scrape in progress finish (briefly).
func (s *metricsServer) stop() {
	if s == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.srv.Shutdown(ctx); err != nil {
		s.srv.Close()
	}
	<-s.done
}

// engine returns e with its nodes observed, for engines that expose them
// (the raft library's); others are returned as they are: their load
// figures are still counted (wrap).
func (s *metricsServer) engine(name string, e bench.Engine) bench.Engine {
	if s == nil {
		return e
	}
	if re, ok := e.(bench.RaftEngine); ok {
		re.Observer = s.col.Nodes(name)
		return re
	}
	return e
}

// recorders returns a wrapper that counts the requests of one run of
// engine: call it once per run, and its result once per worker.
func (s *metricsServer) recorders(engine string) func(bench.Recorder) bench.Recorder {
	if s == nil {
		return func(r bench.Recorder) bench.Recorder { return r }
	}
	return s.col.Load(engine).Wrap
}

// observeElection has real-mode trials report their nodes' events
// (elections, leader changes, fsync, batching), summed over the trial
// clusters by node id. Trials' clusters come and go, several at once, so
// their state (term, role, indexes) is not exported. Simulated trials have
// no real nodes: with --mode sim, --metrics-addr is refused.
func (s *metricsServer) observeElection(cfg *election.Config) error {
	if s == nil {
		return nil
	}
	if cfg.Mode != election.ModeReal {
		return errors.New("--metrics-addr needs --mode real (simulated trials run no real nodes)")
	}
	cfg.NodeMetrics = func(id uint64) node.Metrics { return s.col.NodeMetrics("raft", id) }
	return nil
}
