package metrics

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/raftbench/raftbench/bench"
)

// Load counts one engine's load-generator requests.
type Load struct {
	c       *Collector
	engine  string
	reads   prometheus.Counter
	writes  prometheus.Counter
	readLat prometheus.Observer
	writeLt prometheus.Observer
	errs    map[string]prometheus.Counter // the known kinds, resolved once; read-only
}

// errorKinds are the kinds bench reports; others are resolved when seen.
var errorKinds = []string{bench.ErrKindTimeout, bench.ErrKindNotLeader, bench.ErrKindDropped, bench.ErrKindRead, bench.ErrKindOther}

// Load returns the counters of engine's load. The children of every
// known kind exist from here on, at zero, so that a dashboard's rate() has
// a series before the first error.
func (c *Collector) Load(engine string) *Load {
	l := &Load{c: c, engine: engine,
		reads: c.ops.WithLabelValues(engine, "read"), writes: c.ops.WithLabelValues(engine, "write"),
		readLat: c.latency.WithLabelValues(engine, "read"), writeLt: c.latency.WithLabelValues(engine, "write"),
		errs: map[string]prometheus.Counter{},
	}
	for _, k := range errorKinds {
		l.errs[k] = c.errors.WithLabelValues(engine, k)
	}
	return l
}

// Wrap returns a bench.Recorder that records into r and counts each
// request (bench.OpRecorder). Give each worker its own, as the load
// generator does: the counts are atomic adds, shared by every worker
// without a lock. Lags and operations go to r too if it takes them.
func (l *Load) Wrap(r bench.Recorder) bench.Recorder {
	lag, _ := r.(bench.LagRecorder)
	op, _ := r.(bench.OpRecorder)
	return &recorder{r: r, lag: lag, op: op, l: l}
}

type recorder struct {
	r   bench.Recorder
	lag bench.LagRecorder
	op  bench.OpRecorder // r, if it takes operations too
	l   *Load
}

var (
	_ bench.OpRecorder  = (*recorder)(nil)
	_ bench.LagRecorder = (*recorder)(nil)
)

func (w *recorder) Record(at time.Time, latency time.Duration) { w.r.Record(at, latency) }
func (w *recorder) Error(at time.Time, kind string)            { w.r.Error(at, kind) }

func (w *recorder) Lag(at time.Time, lag time.Duration) {
	if w.lag != nil {
		w.lag.Lag(at, lag)
	}
}

func (w *recorder) Op(write bool, latency time.Duration, errKind string) {
	if w.op != nil {
		w.op.Op(write, latency, errKind)
	}
	l := w.l
	if errKind != "" {
		c, ok := l.errs[errKind]
		if !ok { // a kind bench does not list: rare, so the lookup is fine
			c = l.c.errors.WithLabelValues(l.engine, errKind)
		}
		c.Inc()
		return
	}
	if write {
		l.writes.Inc()
		l.writeLt.Observe(latency.Seconds())
	} else {
		l.reads.Inc()
		l.readLat.Observe(latency.Seconds())
	}
}
