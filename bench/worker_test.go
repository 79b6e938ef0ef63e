package bench

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/raftbench/raftbench/workloads"
)

// scriptCluster is an AsyncCluster whose nodes answer by a script: node 1
// redirects to node 2, node 3 is down, node 2 answers after delay (or
// never, for a write whose sequence number is in hold).
type scriptCluster struct {
	Cluster
	delay time.Duration

	mu       sync.Mutex
	leader   uint64         // what Leader reports
	attempts map[uint64]int // by node
	firstCmd map[string][]byte
	hold     map[uint64]bool // sequence numbers node 2 never answers
	retried  int             // writes sent again with identical bytes
	changed  int             // reads whose key changed before their answer
}

func (s *scriptCluster) setLeader(id uint64) {
	s.mu.Lock()
	s.leader = id
	s.mu.Unlock()
}

func newScriptCluster(leader uint64) *scriptCluster {
	return &scriptCluster{leader: leader, attempts: map[uint64]int{}, firstCmd: map[string][]byte{}, hold: map[uint64]bool{}}
}

func (s *scriptCluster) Nodes() []uint64 { return []uint64{1, 2, 3} }
func (s *scriptCluster) Leader() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.leader
}

func (s *scriptCluster) WriteAsync(ctx context.Context, node uint64, cmd []byte, done func(any, error)) {
	c, err := workloads.DecodeCommand(cmd)
	if err != nil {
		panic(err)
	}
	s.mu.Lock()
	s.attempts[node]++
	id := fmt.Sprint(c.ClientID, "/", c.Seq)
	if first, ok := s.firstCmd[id]; ok && bytes.Equal(first, cmd) {
		s.retried++
	}
	s.firstCmd[id] = cmd
	hold := s.hold[c.Seq]
	s.mu.Unlock()
	s.answer(node, hold, func(err error) { done(nil, err) })
}

func (s *scriptCluster) ReadAsync(ctx context.Context, node uint64, mode ReadMode, key []byte, done func([]byte, bool, error)) {
	s.mu.Lock()
	s.attempts[node]++
	s.mu.Unlock()
	orig := bytes.Clone(key)
	s.answer(node, false, func(err error) {
		// The key is the caller's until done is called, even for an
		// answer that comes after the request timed out.
		if !bytes.Equal(key, orig) {
			s.mu.Lock()
			s.changed++
			s.mu.Unlock()
		}
		done(nil, false, err)
	})
}

func (s *scriptCluster) answer(node uint64, hold bool, done func(error)) {
	switch node {
	case 1:
		done(&NotLeaderError{Leader: 2}) // at once, on the caller's goroutine
	case 3:
		go done(ErrNodeDown)
	case 2:
		if hold {
			return // never answered
		}
		time.AfterFunc(s.delay, func() { done(nil) })
	}
}

// A client follows a redirect, forgets a node that is down, and sends a
// retried write with the same bytes (the same session and sequence number),
// so it applies once.
func TestWorkerRedirectsAndRetries(t *testing.T) {
	for _, first := range []uint64{1, 3} {
		c := newScriptCluster(first)
		c.delay = time.Millisecond
		rec := &countRecorder{errs: map[string]int{}}
		go func() { // once a client has forgotten node 3, the cluster names 2
			time.Sleep(20 * time.Millisecond)
			c.setLeader(2)
		}()
		cfg := workload()
		cfg.ReadRatio = 0
		_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 8, Duration: 200 * time.Millisecond, Workload: cfg},
			func(time.Time) Recorder { return rec }, nil)
		if err != nil {
			t.Fatal(err)
		}
		c.mu.Lock()
		if rec.ok < 100 || len(rec.errs) != 0 {
			t.Errorf("first leader %d: %d ok, errors %v; want >= 100 ok and none failed", first, rec.ok, rec.errs)
		}
		if c.attempts[first] == 0 || c.retried < c.attempts[first] {
			t.Errorf("first leader %d: %d attempts there, %d sent again unchanged to another node; want every one resent", first, c.attempts[first], c.retried)
		}
		c.mu.Unlock()
	}
}

// A request that gets no answer times out at its deadline and the client
// goes on; the answer arriving later is not counted a second time.
func TestWorkerTimesOutAndIgnoresLateAnswers(t *testing.T) {
	c := newScriptCluster(2)
	c.delay = 400 * time.Millisecond // longer than the timeout: every answer is late
	c.hold[3] = true                 // and a client's third write is never answered
	var mu sync.Mutex
	var records, timeouts int
	rec := &funcRecorder2{
		record: func() { mu.Lock(); records++; mu.Unlock() },
		err: func(kind string) {
			mu.Lock()
			if kind == ErrKindTimeout {
				timeouts++
			}
			mu.Unlock()
		},
	}
	cfg := workload()
	cfg.ReadRatio = 0
	const clients = 4
	_, err := RunLoad(context.Background(), c, LoadConfig{Clients: clients, Duration: 700 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Workload: cfg}, func(time.Time) Recorder { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	// Answers to the first requests (400 ms late) arrived during the run,
	// long after their 100 ms timeouts: none may count.
	mu.Lock()
	defer mu.Unlock()
	if records != 0 {
		t.Errorf("%d requests recorded as answered, want 0 (every answer came after the timeout)", records)
	}
	// 700 ms of 100 ms timeouts (checked every 50 ms): 4-7 per client.
	if timeouts < 4*clients || timeouts > 7*clients {
		t.Errorf("%d timeouts, want %d-%d", timeouts, 4*clients, 7*clients)
	}
}

// A read that timed out may still be in the engine: the key it was given
// stays as it was until the engine answers, although the client has moved
// on to other requests (the race detector watches the bytes too).
func TestWorkerKeepsTimedOutReadsKeys(t *testing.T) {
	for _, delay := range []time.Duration{0, 30 * time.Millisecond} { // on time; after the timeout
		c := newScriptCluster(2)
		c.delay = delay
		rec := &countRecorder{errs: map[string]int{}}
		cfg := workload()
		cfg.ReadRatio = 1
		_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 4, Duration: 300 * time.Millisecond,
			Timeout: 10 * time.Millisecond, Workload: cfg}, func(time.Time) Recorder { return rec }, nil)
		if err != nil {
			t.Fatal(err)
		}
		time.Sleep(2 * delay) // the last late answers
		c.mu.Lock()
		if c.changed != 0 {
			t.Errorf("delay %v: %d reads saw their key change before they answered", delay, c.changed)
		}
		if n := c.attempts[2]; n < 20 {
			t.Errorf("delay %v: %d reads, want at least 20", delay, n)
		}
		c.mu.Unlock()
	}
}

type funcRecorder2 struct {
	record func()
	err    func(kind string)
}

func (f *funcRecorder2) Record(time.Time, time.Duration) { f.record() }
func (f *funcRecorder2) Error(_ time.Time, kind string)  { f.err(kind) }

// While no leader is known, clients keep asking (every retryWait) and go
// on as soon as one is: they do not sit out their timeout.
func TestWorkerWaitsOutAnElection(t *testing.T) {
	c := newScriptCluster(0)
	c.delay = time.Millisecond
	time.AfterFunc(30*time.Millisecond, func() { c.setLeader(2) })
	rec := &countRecorder{errs: map[string]int{}}
	cfg := workload()
	cfg.ReadRatio = 0.5
	_, err := RunLoad(context.Background(), c, LoadConfig{Clients: 4, Duration: 300 * time.Millisecond,
		Timeout: time.Second, Workload: cfg}, func(time.Time) Recorder { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ok < 100 || len(rec.errs) != 0 {
		t.Errorf("%d ok, errors %v in 300 ms with a leader after 30 ms; want >= 100 ok, no errors", rec.ok, rec.errs)
	}
	if rec.maxLat > 100*time.Millisecond {
		t.Errorf("max latency %v, want about the 30 ms without a leader", rec.maxLat)
	}
}

// A write that no answer ends (timed out, or still in flight when the run
// ends) may have taken effect: the history keeps it with an unknown
// outcome, so a read that sees its value is not called a violation.
func TestHistoryKeepsUnansweredWrites(t *testing.T) {
	c := newScriptCluster(2)
	c.delay = time.Millisecond
	c.hold[2] = true // every client's second write is never answered
	h := NewHistory(10_000)
	cfg := workload()
	cfg.ReadRatio = 0
	const clients = 3
	_, err := RunLoad(context.Background(), c, LoadConfig{Clients: clients, Duration: 200 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Workload: cfg, History: h},
		func(time.Time) Recorder { return &countRecorder{errs: map[string]int{}} }, nil)
	if err != nil {
		t.Fatal(err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	unknown := map[string]bool{}
	for _, op := range h.ops {
		in := op.Input.(kvInput)
		if in.Write && op.Return == math.MaxInt64 {
			unknown[in.Value] = true
		}
	}
	for id := 1; id <= clients; id++ {
		// Client id's second write: value "<id>.2". It timed out after
		// 100 ms, or the run ended under it.
		if v := fmt.Sprintf("%d.2", id); !unknown[v] {
			t.Errorf("write %q was never answered but is not in the history as unknown (unknown: %v)", v, unknown)
		}
	}
}

// blockingCluster has only the blocking calls, which return when their
// context ends.
type blockingCluster struct{ Cluster }

func (blockingCluster) Nodes() []uint64 { return []uint64{1} }
func (blockingCluster) Leader() uint64  { return 1 }
func (blockingCluster) Write(ctx context.Context, _ uint64, _ []byte) (any, error) {
	<-ctx.Done()
	return nil, ctx.Err()
}
func (blockingCluster) Read(ctx context.Context, _ uint64, _ ReadMode, _ []byte) ([]byte, bool, error) {
	<-ctx.Done()
	return nil, false, ctx.Err()
}

// An engine without asynchronous calls runs each request on a goroutine
// with the request timeout; when that ends the request, it counts as a
// timeout, not as another error.
func TestSyncEngineTimeoutsAreTimeouts(t *testing.T) {
	rec := &countRecorder{errs: map[string]int{}}
	_, err := RunLoad(context.Background(), blockingCluster{}, LoadConfig{Clients: 3, Duration: 450 * time.Millisecond,
		Timeout: 100 * time.Millisecond, Workload: workload()}, func(time.Time) Recorder { return rec }, nil)
	if err != nil {
		t.Fatal(err)
	}
	if rec.ok != 0 || rec.errs[ErrKindTimeout] < 3*3 || len(rec.errs) != 1 {
		t.Errorf("%d ok, errors %v; want only timeouts, at least 9", rec.ok, rec.errs)
	}
}

// lostLeaderCluster refuses every write, saying whether it may apply all
// the same (appended before its leader lost the leadership).
type lostLeaderCluster struct {
	scriptCluster
	maybeApplied bool
}

func (l *lostLeaderCluster) WriteAsync(ctx context.Context, node uint64, cmd []byte, done func(any, error)) {
	go done(nil, &NotLeaderError{Leader: 0, MaybeApplied: l.maybeApplied})
}

// A write refused with MaybeApplied stays in the history with an unknown
// outcome; one refused plainly had no effect and stays out (but for the
// attempts unanswered when the run ends, which may yet apply).
func TestHistoryKeepsWritesRefusedAfterAppend(t *testing.T) {
	for _, maybe := range []bool{false, true} {
		c := &lostLeaderCluster{scriptCluster: *newScriptCluster(1), maybeApplied: maybe}
		h := NewHistory(10_000)
		cfg := workload()
		cfg.ReadRatio = 0
		const clients = 2
		_, err := RunLoad(context.Background(), c, LoadConfig{Clients: clients, Duration: 300 * time.Millisecond,
			Timeout: 30 * time.Millisecond, Workload: cfg, History: h},
			func(time.Time) Recorder { return &countRecorder{errs: map[string]int{}} }, nil)
		if err != nil {
			t.Fatal(err)
		}
		h.mu.Lock()
		writes := 0
		for _, op := range h.ops {
			if op.Input.(kvInput).Write {
				writes++
				if op.Return != math.MaxInt64 {
					t.Errorf("maybeApplied %t: a refused write is in the history as answered", maybe)
				}
			}
		}
		h.mu.Unlock()
		// Each client times out a write every 30 ms: about ten each. Only
		// the one a client has in flight when the run ends stays in the
		// history when the refusals say no write was appended.
		if maybe && writes <= 2*clients {
			t.Errorf("%d writes in the history; want every write refused after its append (about %d)", writes, 10*clients)
		}
		if !maybe && writes > clients {
			t.Errorf("%d writes refused before any append are in the history; want at most the %d in flight at the end", writes, clients)
		}
	}
}
