package bench

import (
	"context"
	"fmt"
	"math/rand/v2"
	"runtime"
	"sync"
	"time"

	"github.com/raftbench/raftbench/raft/node"
	"github.com/raftbench/raftbench/workloads"
)

// LoadConfig describes a load: closed loop (Rate 0: Clients clients, each
// waiting for its reply before the next request) or open loop (Rate
// requests a second on a fixed schedule, served by Clients clients, each
// with one request in flight at most; latency counts from each request's
// intended send time, so queueing behind a slow cluster shows in the
// results instead of hiding in a slower send rate).
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

// LagRecorder is an optional Recorder method: in an open-loop run it is
// told how late each measured request was sent after its intended time.
type LagRecorder interface {
	Lag(intended time.Time, lag time.Duration)
}

// OpRecorder is an optional Recorder method: it is told of every measured
// request after Record or Error, with whether it was a write, its latency
// and, for a failed one, its error kind (empty for success). Live
// exporters such as bench/metrics count by operation with it.
type OpRecorder interface {
	Op(write bool, latency time.Duration, errKind string)
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
// called when a phase starts. RunLoad returns when the run ends; requests
// still in flight then are abandoned, not counted, and the engine may go
// on with them (and answer them) until the cluster is closed.
func RunLoad(ctx context.Context, c Cluster, cfg LoadConfig, newRecorder func(measureStart time.Time) Recorder, onPhase func(Phase)) (LoadResult, error) {
	if err := cfg.validate(); err != nil {
		return LoadResult{}, err
	}
	start := time.Now()
	measureStart := start.Add(cfg.Warmup)
	end := measureStart.Add(cfg.Duration)
	ctx, cancel := context.WithDeadline(ctx, end)
	defer cancel()
	onPhase = withPhaseLabel(onPhase) // profiles can be cut by phase
	if onPhase != nil {
		if cfg.Warmup > 0 {
			onPhase(PhaseWarmup)
		}
		time.AfterFunc(cfg.Warmup, func() { onPhase(PhaseMeasure) })
	}

	// Logical clients are dealt round-robin to a few workers: each worker
	// keeps all of its clients' requests in flight from one goroutine.
	// A goroutine per client would put hundreds of runnable goroutines
	// ahead of the cluster's own at every burst of answers, and the
	// cluster would then be measured waiting for a CPU.
	async, ok := c.(AsyncCluster)
	if !ok {
		async = syncAdapter{Cluster: c, timeout: cfg.Timeout}
	}
	nworkers := min(cfg.Clients, max(1, runtime.GOMAXPROCS(0)))
	workers := make([]*worker, nworkers)
	for w := range workers {
		workers[w] = newWorker(async, &cfg, newRecorder(measureStart), measureStart)
		if cfg.Rate > 0 {
			// Each worker computes its share of the open loop's
			// schedule: no goroutine hands intended times around.
			sc := &schedule{start: start, end: end, interval: float64(time.Second) / cfg.Rate,
				clients: int64(cfg.Clients), workers: int64(nworkers), worker: int64(w)}
			sc.first()
			workers[w].sched = sc
		}
	}
	for i := 0; i < cfg.Clients; i++ {
		wcfg := cfg.Workload
		wcfg.Seed = cfg.Workload.Seed*1_000_003 + uint64(i)
		gen, err := workloads.NewGenerator(wcfg)
		if err != nil {
			return LoadResult{}, err
		}
		w := workers[i%nworkers]
		w.clients = append(w.clients, &client{id: uint64(i + 1), gen: gen, rng: rand.New(rand.NewPCG(wcfg.Seed, 77))})
	}
	var wg sync.WaitGroup
	for _, w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(ctx)
		}()
	}
	wg.Wait()
	node.SetProfileLabel(node.LabelPhase, "")
	return LoadResult{MeasureStart: measureStart, MeasureEnd: end}, nil
}
