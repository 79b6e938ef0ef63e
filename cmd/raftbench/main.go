package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"

	"github.com/spf13/pflag"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout io.Writer) error
}

var commands = []command{
	{"run", "run a workload against a cluster and write an HDR latency report", runRun},
	{"compare", "compare run reports: throughput and latency percentiles with ratios", runCompare},
	{"election", "leader-recovery experiments (the Raft paper's Figure 16): CDFs, KS distance to the paper, plots", runElection},
	{"demo", "simulated 5-node election demo: elect, commit, crash the leader, measure recovery", runDemo},
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "raftbench: build, measure and tune Raft clusters.")
	fmt.Fprintln(w, "\nUsage: raftbench <command> [flags]\n\nCommands:")
	for _, c := range commands {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'raftbench <command> --help' for the flags of a command.")
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stdout)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands {
		if c.name == args[0] {
			err := c.run(ctx, args[1:], stdout)
			switch {
			case errors.Is(err, pflag.ErrHelp):
				return 0
			case errors.As(err, new(usageError)):
				fmt.Fprintf(stderr, "raftbench %s: %v\n", c.name, err)
				return 2
			case err != nil:
				fmt.Fprintf(stderr, "raftbench %s: %v\n", c.name, err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(stderr, "raftbench: unknown command %q\n", args[0])
	usage(stderr)
	return 2
}
