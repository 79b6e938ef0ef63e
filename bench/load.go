package bench

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/workloads"
)

// LoadConfig describes a load: closed loop (Rate 0: Clients clients, each
// waiting for its reply before the next request) or open loop (Rate
// requests a second on a fixed schedule, served by Clients workers;
// latency counts from each request's intended send time, so queueing
// behind a slow cluster shows in the results instead of hiding in a
// slower send rate).
type LoadConfig struct {
	Clients  int
	Rate     float64
	Duration time.Duration // measured phase
	Warmup   time.Duration // before it, not recorded
	ReadMode ReadMode
	Workload workloads.GeneratorConfig
	// Timeout bounds one request, retries included (default 5s).
	Timeout time.Duration
	// History, if set, records every request and its answer for a
	// linearizability check; writes then carry distinct small values
	// ("<client>.<seq>") so that a read tells which write it saw.
	History *History
}

// Recorder receives one worker's measurements (one per worker, merged at
// the end: workers never share one).
type Recorder interface {
	// Record notes a request intended to start at intended that completed
	// after latency.
	Record(intended time.Time, latency time.Duration)
	// Error counts a failed request, intended to start at intended, by
	// kind.
	Error(intended time.Time, kind string)
}

// Error kinds.
const (
	ErrKindTimeout   = "timeout"    // no answer within the request timeout
	ErrKindNotLeader = "not_leader" // still refused after redirects until the timeout
	ErrKindDropped   = "dropped"    // the write was lost in a leadership change
	ErrKindRead      = "read_failed"
	ErrKindOther     = "other"
)

// Phase is the load's phase (warmup or measure), for callers that label
// profiles or print progress.
type Phase string

const (
	PhaseWarmup  Phase = "warmup"
	PhaseMeasure Phase = "measure"
)

// LoadResult tells when the measured phase ran.
type LoadResult struct {
	MeasureStart, MeasureEnd time.Time
}

func (cfg *LoadConfig) validate() error {
	switch {
	case cfg.Clients < 1:
		return fmt.Errorf("clients must be at least 1, got %d", cfg.Clients)
	case cfg.Rate < 0:
		return fmt.Errorf("rate must not be negative, got %v", cfg.Rate)
	case cfg.Duration <= 0:
		return fmt.Errorf("duration must be positive, got %v", cfg.Duration)
	case cfg.Warmup < 0:
		return fmt.Errorf("warmup must not be negative, got %v", cfg.Warmup)
	}
	if cfg.ReadMode == "" {
		cfg.ReadMode = ReadIndex
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = 5 * time.Second
	}
	return nil
}

// RunLoad drives c with the load cfg describes. newRecorder is called once
// per worker with the start of the measured phase; onPhase (may be nil) is
// called when a phase starts.
func RunLoad(ctx context.Context, c Cluster, cfg LoadConfig, newRecorder func(measureStart time.Time) Recorder, onPhase func(Phase)) (LoadResult, error) {
	if err := cfg.validate(); err != nil {
		return LoadResult{}, err
	}
	start := time.Now()
	measureStart := start.Add(cfg.Warmup)
	end := measureStart.Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	if onPhase != nil {
		if cfg.Warmup > 0 {
			onPhase(PhaseWarmup)
		}
		time.AfterFunc(cfg.Warmup, func() { onPhase(PhaseMeasure) })
	}

	// The open loop's schedule: one intended time per request.
	var schedule chan time.Time
	if cfg.Rate > 0 {
		schedule = make(chan time.Time, 1<<16)
		go func() {
			defer close(schedule)
			interval := time.Duration(float64(time.Second) / cfg.Rate)
			for k := int64(0); ; k++ {
				at := start.Add(time.Duration(k) * interval)
				if !at.Before(end) {
					return
				}
				if d := time.Until(at); d > 0 {
					select {
					case <-time.After(d):
					case <-ctx.Done():
						return
					}
				}
				select {
				case schedule <- at:
				case <-ctx.Done():
					return
				}
			}
		}()
	}

	var wg sync.WaitGroup
	errc := make(chan error, cfg.Clients)
	for i := 0; i < cfg.Clients; i++ {
		wcfg := cfg.Workload
		wcfg.Seed = cfg.Workload.Seed*1_000_003 + uint64(i)
		gen, err := workloads.NewGenerator(wcfg)
		if err != nil {
			return LoadResult{}, err
		}
		cl := &client{id: uint64(i + 1), c: c, cfg: &cfg, gen: gen, rec: newRecorder(measureStart),
			rng: rand.New(rand.NewPCG(wcfg.Seed, 77)), measureStart: measureStart}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cl.run(ctx, schedule); err != nil {
				errc <- err
			}
		}()
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return LoadResult{}, err
	}
	return LoadResult{MeasureStart: measureStart, MeasureEnd: end}, nil
}

// client is one closed-loop client or open-loop worker, with its own
// session (client id and sequence number): a write it retries after a
// redirect or a timeout is applied once.
type client struct {
	id           uint64
	seq          uint64
	c            Cluster
	cfg          *LoadConfig
	gen          *workloads.Generator
	rec          Recorder
	rng          *rand.Rand
	leader       uint64
	measureStart time.Time
}

func (cl *client) run(ctx context.Context, schedule <-chan time.Time) error {
	for {
		var intended time.Time
		if schedule != nil {
			var ok bool
			select {
			case intended, ok = <-schedule:
				if !ok {
					return nil
				}
			case <-ctx.Done():
				return nil
			}
		} else {
			if ctx.Err() != nil {
				return nil
			}
			intended = time.Now()
		}
		kind := cl.do(ctx)
		if ctx.Err() != nil && kind != "" {
			return nil // the run ended under this request: not its fault
		}
		if intended.Before(cl.measureStart) {
			continue
		}
		if kind != "" {
			cl.rec.Error(intended, kind)
			continue
		}
		cl.rec.Record(intended, time.Since(intended))
	}
}

// do performs one generated request, redirecting to the leader it is told
// about, and returns the error kind ("" on success).
func (cl *client) do(ctx context.Context) string {
	op := cl.gen.Next()
	ctx, cancel := context.WithTimeout(ctx, cl.cfg.Timeout)
	defer cancel()
	write := op.Kind == workloads.Write
	var cmd []byte
	value := op.Value
	if write {
		cl.seq++
		if cl.cfg.History != nil {
			value = fmt.Appendf(nil, "%d.%d", cl.id, cl.seq)
		}
		// A fresh buffer per write: the log keeps the proposed bytes
		// without copying them (they travel to the disk, the peers and the
		// state machine), so they must never be reused.
		cmd = workloads.EncodePut(cl.id, cl.seq, op.Key, value)
	}
	if h := cl.cfg.History; h != nil {
		key := append([]byte(nil), op.Key...) // the generator reuses its buffer
		call := time.Now()
		kind, got, found, maybeApplied := cl.attempt(ctx, write, cmd, key)
		if write && maybeApplied {
			// A write no node took (every attempt refused) or one whose
			// entry was replaced (dropped) had no effect: it stays out.
			h.write(cl.id, key, value, call, time.Now(), kind == "")
		} else if !write && kind == "" {
			h.read(cl.id, key, got, found, call, time.Now())
		}
		return kind
	}
	kind, _, _, _ := cl.attempt(ctx, write, cmd, op.Key)
	return kind
}

// attempt sends a request, redirecting to the leader it is told about,
// until it is answered or its context ends. maybeApplied reports whether a
// write may have taken effect: some node accepted it and it was not
// reported lost.
func (cl *client) attempt(ctx context.Context, write bool, cmd, key []byte) (kind string, value []byte, found, maybeApplied bool) {
	for {
		target := cl.target(write)
		var err error
		if target == 0 {
			err = &NotLeaderError{}
		} else if write {
			_, err = cl.c.Write(ctx, target, cmd)
		} else {
			value, found, err = cl.c.Read(ctx, target, cl.cfg.ReadMode, key)
		}
		var nl *NotLeaderError
		if write && target != 0 && !errors.As(err, &nl) && !errors.Is(err, node.ErrDropped) && !errors.Is(err, ErrNodeDown) {
			maybeApplied = true
		}
		switch {
		case err == nil:
			return "", value, found, maybeApplied
		case ctx.Err() != nil:
			if errors.Is(err, ErrNotLeader) {
				return ErrKindNotLeader, nil, false, maybeApplied
			}
			return ErrKindTimeout, nil, false, maybeApplied
		case errors.Is(err, ErrNodeDown):
			cl.leader = 0 // ask the cluster who leads now
			select {
			case <-time.After(5 * time.Millisecond):
			case <-ctx.Done():
			}
		case errors.As(err, &nl):
			cl.leader = nl.Leader // redirect (0: ask the cluster)
			if nl.Leader == 0 {
				select {
				case <-time.After(5 * time.Millisecond):
				case <-ctx.Done():
				}
			}
		case errors.Is(err, node.ErrDropped):
			return ErrKindDropped, nil, false, maybeApplied
		case errors.Is(err, node.ErrReadFailed):
			return ErrKindRead, nil, false, maybeApplied
		default:
			return ErrKindOther, nil, false, maybeApplied
		}
	}
}

// target picks the node for the next attempt: the known leader, or for
// follower reads a random other node.
func (cl *client) target(write bool) uint64 {
	if cl.leader == 0 {
		cl.leader = cl.c.Leader()
	}
	if !write && cl.cfg.ReadMode == ReadFollower && cl.leader != 0 {
		nodes := cl.c.Nodes()
		if len(nodes) > 1 {
			for {
				if id := nodes[cl.rng.IntN(len(nodes))]; id != cl.leader {
					return id
				}
			}
		}
	}
	return cl.leader
}
