package bench

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// countRecorder counts what a worker records.
type countRecorder struct {
	mu     sync.Mutex
	ok     int
	errs   map[string]int
	before int // records intended before the measured phase (must be 0)
	start  time.Time
	maxLat time.Duration
}

func (r *countRecorder) Record(intended time.Time, lat time.Duration) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ok++
	if intended.Before(r.start) {
		r.before++
	}
	r.maxLat = max(r.maxLat, lat)
}

func (r *countRecorder) Error(_ time.Time, kind string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs[kind]++
}

func startTestCluster(t *testing.T) Cluster {
	t.Helper()
	c, err := RaftEngine{}.Start(context.Background(), ClusterConfig{Nodes: 3, Transport: "mem", Seed: 3,
		ElectionTimeoutMin: 100 * time.Millisecond, ElectionTimeoutMax: 200 * time.Millisecond,
		Heartbeat: 20 * time.Millisecond, CheckQuorum: true, PreVote: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	waitLeader(t, c)
	return c
}

func workload() workloads.GeneratorConfig {
	return workloads.GeneratorConfig{Seed: 1, Keys: workloads.KeyConfig{Keys: 1000},
		ValueBytesMin: 64, ValueBytesMax: 64, ReadRatio: 0.5}
}

func TestClosedLoop(t *testing.T) {
	c := startTestCluster(t)
	rec := &countRecorder{errs: map[string]int{}}
	var phases []Phase
	var mu sync.Mutex
	res, err := RunLoad(context.Background(), c, LoadConfig{Clients: 8, Duration: 700 * time.Millisecond,
		Warmup: 200 * time.Millisecond, Workload: workload()},
		func(time.Time) Recorder { return rec }, func(p Phase) { mu.Lock(); phases = append(phases, p); mu.Unlock() })
	if err != nil {
		t.Fatal(err)
	}
	rec.start = res.MeasureStart
	if rec.ok < 100 {
		t.Errorf("recorded %d requests in 700ms, want >= 100", rec.ok)
	}
	if len(rec.errs) != 0 {
		t.Errorf("errors %v on a healthy cluster", rec.errs)
	}
	if got := res.MeasureEnd.Sub(res.MeasureStart); got != 700*time.Millisecond {
		t.Errorf("measured phase %v, want 700ms", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(phases) != 2 || phases[0] != PhaseWarmup || phases[1] != PhaseMeasure {
		t.Errorf("phases %v, want [warmup measure]", phases)
	}
}

func TestOpenLoopFollowsTheSchedule(t *testing.T) {
	c := startTestCluster(t)
	rec := &countRecorder{errs: map[string]int{}}
	const rate = 400.0
	_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 16, Rate: rate, Duration: time.Second,
		Warmup: 250 * time.Millisecond, Workload: workload()}, func(time.Time) Recorder { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	// One second at 400/s: about 400 requests measured (the schedule, not
	// the cluster's speed, sets the count).
	if n := rec.ok + rec.errs[ErrKindTimeout]; n < 360 || n > 410 {
		t.Errorf("measured %d requests at %v/s for 1s, want about 400", n, rate)
	}
}

// stallCluster answers at once, except that nothing completes before
// stallUntil: a cluster frozen at the start of the run.
type stallCluster struct {
	Cluster
	stallUntil time.Time
}

func (s *stallCluster) Nodes() []uint64 { return []uint64{1} }
func (s *stallCluster) Leader() uint64  { return 1 }
func (s *stallCluster) Write(ctx context.Context, node uint64, cmd []byte) (any, error) {
	time.Sleep(time.Until(s.stallUntil))
	return nil, nil
}
func (s *stallCluster) Read(ctx context.Context, node uint64, mode ReadMode, key []byte) ([]byte, bool, error) {
	time.Sleep(time.Until(s.stallUntil))
	return nil, false, nil
}

// Latency counts from the intended send time: requests scheduled while the
// cluster is frozen show the wait, even though the workers were busy and
// sent them late (no coordinated omission).
func TestOpenLoopCountsQueueing(t *testing.T) {
	const stall = 300 * time.Millisecond
	c := &stallCluster{stallUntil: time.Now().Add(stall)}
	var mu sync.Mutex
	var lats []time.Duration
	var maxLag time.Duration
	rec := &funcRecorder{record: func(intended time.Time, lat time.Duration) {
		mu.Lock()
		lats = append(lats, lat)
		mu.Unlock()
	}, lag: func(lag time.Duration) {
		mu.Lock()
		maxLag = max(maxLag, lag)
		mu.Unlock()
	}}
	_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 2, Rate: 200, Duration: 600 * time.Millisecond,
		Workload: workload()}, func(time.Time) Recorder { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Requests scheduled at 0, 5, 10, ... ms all complete at about 300 ms.
	var first time.Duration
	slow := 0
	for _, l := range lats {
		first = max(first, l)
		if l > 100*time.Millisecond {
			slow++
		}
	}
	if first < stall-20*time.Millisecond {
		t.Errorf("max latency %v, want about the %v stall", first, stall)
	}
	if slow < 30 { // requests intended in the first 200 ms: about 40
		t.Errorf("%d requests waited over 100ms, want the ones scheduled during the stall (about 40)", slow)
	}
	// Both clients were stuck in the stall: the requests behind them were
	// sent late, and the lag says so.
	if maxLag < stall/2 {
		t.Errorf("largest start lag %v, want most of the %v stall", maxLag, stall)
	}
}

type funcRecorder struct {
	record func(time.Time, time.Duration)
	lag    func(time.Duration)
}

func (f *funcRecorder) Lag(_ time.Time, lag time.Duration) {
	if f.lag != nil {
		f.lag(lag)
	}
}

func (f *funcRecorder) Record(intended time.Time, lat time.Duration) { f.record(intended, lat) }
func (f *funcRecorder) Error(time.Time, string)                      {}

func TestLoadConfigErrors(t *testing.T) {
	c := startTestCluster(t)
	for _, cfg := range []LoadConfig{
		{Clients: 0, Duration: time.Second},
		{Clients: 1, Duration: 0},
		{Clients: 1, Duration: time.Second, Rate: -1},
		{Clients: 1, Duration: time.Second, Warmup: -time.Second},
	} {
		cfg.Workload = workload()
		if _, err := RunLoad(context.Background(), c, cfg, func(time.Time) Recorder { return &countRecorder{errs: map[string]int{}} }, nil); err == nil {
			t.Errorf("RunLoad(%+v) succeeded, want an error", cfg)
		}
	}
}
