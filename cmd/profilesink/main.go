// Command profilesink accepts profile pushes the way a Pyroscope server's
// ingest API does (POST /ingest), checks that each holds a valid pprof
// profile, and throws them away. It stands in for a server when measuring
// what profiling costs the profiled process (make profiling-cost), where
// a real server's own work would only add noise.
//
//	go run ./cmd/profilesink --addr 127.0.0.1:4040
//
// On SIGINT or SIGTERM it prints how many pushes it took and refused.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"

	"github.com/raftbench/raftbench/bench/profiling/profilingtest"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:4040", "listen address")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "profilesink:", err)
		os.Exit(1)
	}
	r := &profilingtest.Receiver{}
	srv := &http.Server{Handler: r}
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	fmt.Fprintf(os.Stderr, "profilesink: listening on http://%s\n", ln.Addr())
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "profilesink:", err)
		os.Exit(1)
	}
	errs := r.Errors()
	fmt.Fprintf(os.Stderr, "profilesink: %d pushes taken, %d refused\n", len(r.Pushes()), len(errs))
	for i, err := range errs {
		if i == 3 {
			break
		}
		fmt.Fprintln(os.Stderr, "  refused:", err)
	}
}
