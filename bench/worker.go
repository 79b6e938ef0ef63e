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

const (
	// retryWait is how long a client waits before it asks again when no
	// leader is known or its node is down.
	retryWait = 5 * time.Millisecond
	// tickInterval paces a worker's retries; deadlines are checked every
	// deadlineTicks ticks (timeouts are seconds long: 50 ms is precise
	// enough, and a scan of every client per tick is not free).
	tickInterval  = 2 * time.Millisecond
	deadlineTicks = 25

	// openLoopWake is the shortest sleep of an open-loop worker before its
	// next intended send: requests due closer together than this go out
	// together, after one wake-up. Waking for every request (tens of
	// thousands a second per worker) cost 2% of an open loop's CPU at 70 k
	// writes/s (3 alternating pairs, fsync off). The wait counts in each
	// request's latency, measured from its intended time, and in
	// start_lag_us.
	openLoopWake = 100 * time.Microsecond
)

// client is one logical client: a session (id and sequence number, so a
// write it retries after a redirect or a refusal applies once) with at
// most one request in flight.
type client struct {
	id     uint64
	seq    uint64
	gen    *workloads.Generator
	rng    *rand.Rand
	leader uint64 // the node it sends to; 0: ask the cluster

	// The request in flight, while busy.
	busy         bool
	token        uint64 // counts attempts: an answer to an earlier one is stale
	write        bool
	cmd          []byte // a write's command (a read through the log's, too)
	key          []byte // a copy: the generator reuses its buffer
	keyHeld      bool   // an engine may still read key: the next gets a new one
	value        []byte // the value written (kept for the history)
	intended     time.Time
	call         time.Time
	deadline     time.Time
	retryAt      time.Time // non-zero while waiting to retry
	refused      bool      // the last answer was a refusal: a timeout counts as not_leader
	maybeApplied bool      // some node took the write and did not report it lost
	pending      bool      // a write attempt is unanswered: it may yet take effect
}

// answer is an engine's reply to one attempt, queued for the worker.
type answer struct {
	at    *attemptCall
	value []byte
	found bool
	err   error
}

// attemptCall is one attempt as the engine sees it: the callbacks it
// answers through, and which client and attempt the answer is for (an
// answer to an attempt given up on is recognised by its token). The
// worker recycles them, so an attempt allocates nothing: the engine calls
// back exactly once, and the worker takes the call back once it has read
// that answer.
type attemptCall struct {
	cl      *client
	token   uint64
	onWrite func(any, error)
	onRead  func([]byte, bool, error)
}

// newCall returns an attemptCall for cl's current attempt, a recycled one
// if the worker has one.
func (w *worker) newCall(cl *client) *attemptCall {
	var c *attemptCall
	if n := len(w.freeCalls); n > 0 {
		c = w.freeCalls[n-1]
		w.freeCalls = w.freeCalls[:n-1]
	} else {
		c = &attemptCall{}
		// Bound once per call, not once per attempt.
		c.onWrite = func(_ any, err error) { w.answers.push(answer{at: c, err: err}) }
		c.onRead = func(value []byte, found bool, err error) {
			w.answers.push(answer{at: c, value: value, found: found, err: err})
		}
	}
	c.cl, c.token = cl, cl.token
	return c
}

// answerQueue takes answers from engine goroutines without ever blocking
// them. It holds at most one answer per attempt: requests in flight plus
// attempts given up on whose answers are still to come.
type answerQueue struct {
	mu     sync.Mutex
	q      []answer
	signal chan struct{} // capacity 1: "the queue is not empty"
}

func (a *answerQueue) push(x answer) {
	a.mu.Lock()
	a.q = append(a.q, x)
	a.mu.Unlock()
	select {
	case a.signal <- struct{}{}:
	default:
	}
}

// take swaps the queue for spare, which the caller has finished with.
func (a *answerQueue) take(spare []answer) []answer {
	clear(spare)
	a.mu.Lock()
	q := a.q
	a.q = spare[:0]
	a.mu.Unlock()
	return q
}

// worker drives its clients' requests from one goroutine: it sends each
// request through the engine's asynchronous calls and handles the answers
// as they come back, so a worker with hundreds of clients is one goroutine
// to schedule, not hundreds.
type worker struct {
	c            AsyncCluster
	cfg          *LoadConfig
	rec          Recorder
	lag          LagRecorder // rec, if it takes lags
	ops          OpRecorder  // rec, if it takes operations
	measureStart time.Time
	clients      []*client
	idle         []*client
	retries      []*client // waiting for their retryAt
	answers      answerQueue
	sched        *schedule // open loop only
	ctx          context.Context
	freeCalls    []*attemptCall // answered: ready for another attempt
}

func newWorker(c AsyncCluster, cfg *LoadConfig, rec Recorder, measureStart time.Time) *worker {
	w := &worker{c: c, cfg: cfg, rec: rec, measureStart: measureStart,
		answers: answerQueue{signal: make(chan struct{}, 1)}}
	w.lag, _ = rec.(LagRecorder)
	w.ops, _ = rec.(OpRecorder)
	return w
}

// schedule is one worker's share of the open loop's intended send times.
// Request k of the whole load is intended at start + k*interval and
// belongs to client slot k mod clients; a worker takes the requests of the
// slots it holds (slot i goes to worker i mod workers, as the clients do),
// so each worker's share of the rate is its share of the clients.
type schedule struct {
	start, end       time.Time
	interval         float64 // nanoseconds between two requests of the whole load
	k                int64   // this worker's next request number
	clients, workers int64
	worker           int64
}

func (s *schedule) mine(k int64) bool { return (k%s.clients)%s.workers == s.worker }

// first positions the schedule at the worker's first request.
func (s *schedule) first() {
	for s.k = 0; !s.mine(s.k); s.k++ {
	}
}

// advance moves to the worker's next request.
func (s *schedule) advance() {
	for s.k++; !s.mine(s.k); s.k++ {
	}
}

// next is the intended time of the worker's next request; ok is false
// once it falls past the end of the run.
func (s *schedule) next() (at time.Time, ok bool) {
	at = s.start.Add(time.Duration(float64(s.k) * s.interval))
	return at, at.Before(s.end)
}

// run serves the clients until ctx ends. Closed loop (no schedule): every
// idle client sends its next request at once. Open loop: each intended
// time goes to an idle client; while none is idle, the schedule waits, and
// the wait counts in the latency.
func (w *worker) run(ctx context.Context) {
	w.ctx = ctx
	w.idle = append(w.idle[:0], w.clients...)
	tick := time.NewTicker(tickInterval)
	defer tick.Stop()
	var (
		spare []answer
		ticks int
		due   = time.NewTimer(time.Hour)
	)
	defer due.Stop()
	defer w.abandon()
	labels := node.NewGoroutineLabels() // the phase, for profiles
	for {
		labels.Refresh()
		if ctx.Err() != nil {
			return // requests in flight end with the run: not their fault
		}
		if w.sched == nil {
			for len(w.idle) > 0 {
				now := time.Now()
				w.start(w.popIdle(), now, now)
			}
		} else if len(w.idle) > 0 {
			// Start whatever is due (a late wake-up takes a burst in one
			// go), then sleep until the next one.
			now := time.Now()
			for len(w.idle) > 0 {
				at, ok := w.sched.next()
				if !ok || at.After(now) {
					break
				}
				w.sched.advance()
				w.start(w.popIdle(), at, time.Now())
			}
			if at, ok := w.sched.next(); ok && len(w.idle) > 0 {
				due.Reset(max(time.Until(at), openLoopWake))
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-w.answers.signal:
			spare = w.answers.take(spare)
			// One clock reading for the batch: every answer in it arrived
			// before it, so no latency is understated and no operation's
			// interval in the history is cut short. (A reading per answer
			// was 4% of a read-heavy run's CPU.)
			now := time.Now()
			for _, a := range spare {
				w.handle(a, now)
			}
		case <-due.C:
		case now := <-tick.C:
			w.retryDue(now)
			if ticks++; ticks%deadlineTicks == 0 {
				w.expire(now)
			}
		}
	}
}

func (w *worker) popIdle() *client {
	cl := w.idle[len(w.idle)-1]
	w.idle = w.idle[:len(w.idle)-1]
	return cl
}

// start begins cl's next request, intended at intended and sent now.
func (w *worker) start(cl *client, intended, now time.Time) {
	op := cl.gen.Next()
	cl.busy, cl.refused, cl.maybeApplied, cl.pending = true, false, false, false
	cl.write = op.Kind == workloads.Write
	// The client's own copy, reused from request to request unless one
	// timed out: its attempt may still be in an engine that reads the key
	// until it answers.
	if cl.keyHeld {
		cl.key, cl.keyHeld = nil, false
	}
	cl.key = append(cl.key[:0], op.Key...)
	cl.cmd, cl.value = nil, nil
	if cl.write {
		cl.seq++
		value := op.Value // the generator's buffer: not kept
		if w.cfg.History != nil {
			value = fmt.Appendf(nil, "%d.%d", cl.id, cl.seq)
			cl.value = value
		}
		// A fresh buffer per write: the log keeps the proposed bytes
		// without copying them (they travel to the disk, the peers and the
		// state machine), so they must never be reused.
		cl.cmd = workloads.EncodePut(cl.id, cl.seq, cl.key, value)
	}
	cl.intended = intended
	cl.call = now
	if w.lag != nil && w.sched != nil && !intended.Before(w.measureStart) {
		w.lag.Lag(intended, cl.call.Sub(intended))
	}
	cl.deadline = cl.call.Add(w.cfg.Timeout)
	w.attempt(cl)
}

// attempt sends cl's request to the node it believes leads (or, for
// follower reads, another node).
func (w *worker) attempt(cl *client) {
	cl.token++
	cl.retryAt = time.Time{}
	target := w.target(cl)
	switch {
	case target == 0:
		// Nobody to ask: wait and ask the cluster again.
		cl.refused = true
		w.retryLater(cl)
	case cl.write:
		cl.pending = true
		w.c.WriteAsync(w.ctx, target, cl.cmd, w.newCall(cl).onWrite)
	default:
		w.c.ReadAsync(w.ctx, target, w.cfg.ReadMode, cl.key, w.newCall(cl).onRead)
	}
}

// notLeader returns err's NotLeaderError, if it has one. Apart from
// handle because errors.As makes its target escape: a success, the common
// answer, then allocates nothing.
func notLeader(err error) (*NotLeaderError, bool) {
	if err == nil {
		return nil, false
	}
	var nl *NotLeaderError
	ok := errors.As(err, &nl)
	return nl, ok
}

// target picks the node for the next attempt: the known leader, or for
// follower reads a random other node.
func (w *worker) target(cl *client) uint64 {
	if cl.leader == 0 {
		cl.leader = w.c.Leader()
	}
	if !cl.write && w.cfg.ReadMode == ReadFollower && cl.leader != 0 {
		nodes := w.c.Nodes()
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

// handle takes an answer, read from the queue at now: the request is
// done, redirected or retried.
func (w *worker) handle(a answer, now time.Time) {
	cl, token := a.at.cl, a.at.token
	a.at.cl = nil
	w.freeCalls = append(w.freeCalls, a.at) // its one answer is in hand
	if !cl.busy || token != cl.token {
		return // an attempt given up on (it timed out)
	}
	err := a.err
	nl, refused := notLeader(err)
	if cl.write {
		cl.pending = false
		if (!refused || nl.MaybeApplied) && !errors.Is(err, node.ErrDropped) && !errors.Is(err, ErrNodeDown) {
			cl.maybeApplied = true
		}
	}
	cl.refused = refused
	switch {
	case w.ctx.Err() != nil:
		// The run ended under this request: not its fault. It stays busy
		// for abandon to record.
	case !now.Before(cl.deadline) || errors.Is(err, context.DeadlineExceeded):
		// Answered after its deadline (expire runs only every 50 ms), or
		// an engine's own timeout: a timeout either way.
		w.timeout(cl, now)
	case err == nil:
		w.finish(cl, now, "", a.value, a.found)
	case errors.Is(err, ErrNodeDown):
		cl.leader = 0 // ask the cluster who leads now
		w.retryLater(cl)
	case refused:
		cl.leader = nl.Leader // redirect (0: ask the cluster)
		if nl.Leader == 0 {
			w.retryLater(cl)
		} else {
			w.attempt(cl)
		}
	case errors.Is(err, node.ErrDropped):
		w.finish(cl, now, ErrKindDropped, nil, false)
	case errors.Is(err, node.ErrReadFailed):
		w.finish(cl, now, ErrKindRead, nil, false)
	default:
		w.finish(cl, now, ErrKindOther, nil, false)
	}
}

func (w *worker) retryLater(cl *client) {
	cl.retryAt = time.Now().Add(retryWait)
	w.retries = append(w.retries, cl)
}

// retryDue sends the retries that are due. The list is taken out first:
// an attempt may put its client straight back on it.
func (w *worker) retryDue(now time.Time) {
	list := w.retries
	w.retries = nil
	var due []*client
	for _, cl := range list {
		switch {
		case !cl.busy || cl.retryAt.IsZero():
			// finished (timed out) meanwhile
		case now.Before(cl.retryAt):
			w.retries = append(w.retries, cl)
		case !now.Before(cl.deadline):
			w.timeout(cl, now)
		default:
			due = append(due, cl)
		}
	}
	for _, cl := range due {
		w.attempt(cl)
	}
}

// expire ends the requests past their deadline. Their answers, if they
// ever come, are ignored.
func (w *worker) expire(now time.Time) {
	for _, cl := range w.clients {
		if cl.busy && !now.Before(cl.deadline) {
			w.timeout(cl, now)
		}
	}
}

// timeout ends cl's request at its deadline: not_leader if the last
// answer was a refusal, timeout otherwise.
func (w *worker) timeout(cl *client, now time.Time) {
	cl.keyHeld = true // the attempt may be unanswered yet
	kind := ErrKindTimeout
	if cl.refused {
		kind = ErrKindNotLeader
	}
	w.finish(cl, now, kind, nil, false)
}

// abandon runs when the run ends: the requests still in flight are not
// counted, but a write among them may yet take effect, and the history
// says so (a read might observe it).
func (w *worker) abandon() {
	h := w.cfg.History
	if h == nil {
		return
	}
	now := time.Now()
	for _, cl := range w.clients {
		if cl.busy && cl.write && (cl.maybeApplied || cl.pending) {
			h.write(cl.id, cl.key, cl.value, cl.call, now, false)
		}
	}
}

// finish records cl's request, answered at now, and makes cl idle.
func (w *worker) finish(cl *client, now time.Time, kind string, value []byte, found bool) {
	cl.busy = false
	cl.retryAt = time.Time{}
	if h := w.cfg.History; h != nil {
		if cl.write && (cl.maybeApplied || cl.pending) {
			// A write no node took (every attempt refused) or one whose
			// entry was replaced (dropped) had no effect: it stays out.
			// One unanswered at its deadline may yet apply: it stays in,
			// with an unknown outcome.
			h.write(cl.id, cl.key, cl.value, cl.call, now, kind == "")
		} else if !cl.write && kind == "" {
			h.read(cl.id, cl.key, value, found, cl.call, now)
		}
	}
	if !cl.intended.Before(w.measureStart) {
		latency := now.Sub(cl.intended)
		if kind != "" {
			w.rec.Error(cl.intended, kind)
		} else {
			w.rec.Record(cl.intended, latency)
		}
		if w.ops != nil {
			w.ops.Op(cl.write, latency, kind)
		}
	}
	w.idle = append(w.idle, cl)
}

// syncAdapter drives an engine that has only the blocking calls: one
// goroutine per request in flight, each with the request timeout.
type syncAdapter struct {
	Cluster
	timeout time.Duration
}

func (a syncAdapter) WriteAsync(ctx context.Context, node uint64, cmd []byte, done func(any, error)) {
	go func() {
		ctx, cancel := context.WithTimeout(ctx, a.timeout)
		defer cancel()
		done(a.Write(ctx, node, cmd))
	}()
}

func (a syncAdapter) ReadAsync(ctx context.Context, node uint64, mode ReadMode, key []byte, done func([]byte, bool, error)) {
	go func() {
		ctx, cancel := context.WithTimeout(ctx, a.timeout)
		defer cancel()
		done(a.Read(ctx, node, mode, key))
	}()
}
