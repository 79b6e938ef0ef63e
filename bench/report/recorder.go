package report

import (
	"fmt"
	"time"

	hdrhistogram "github.com/HdrHistogram/hdrhistogram-go"
)

// Histogram geometry shared by every Recorder, so that merging never drops a
// value: latencies in microseconds, from 1 µs to 60 s, 3 significant digits.
const (
	LatencyMinUS      = 1
	LatencyMaxUS      = 60_000_000
	SignificantDigits = 3
)

// Limits that keep a Recorder's memory bounded however long or odd a run is.
const (
	// SeriesMaxSeconds is the longest per-second series a Recorder keeps (one
	// week). Samples later than that still count in the totals and the overall
	// histogram, but not in the series.
	SeriesMaxSeconds = 7 * 24 * 3600
	// ErrorKindsMax is how many distinct error kinds a Recorder counts
	// separately; further kinds are counted under ErrorKindOther.
	ErrorKindsMax = 64
)

// Error kinds used by the load generator. Any non-empty string is accepted;
// these are the ones the report documents.
const (
	ErrorTimeout   = "timeout"
	ErrorNotLeader = "not_leader"
	ErrorDropped   = "dropped"
	ErrorFailed    = "failed"
	ErrorKindOther = "other"
)

// A Recorder accumulates the results of one load-generator worker: an HDR
// histogram of every latency, one histogram per second of the run for the time
// series, and error counts by kind. Recorders of different workers are merged
// with Merge at the end of a run.
//
// A Recorder is not safe for concurrent use: give each worker its own.
type Recorder struct {
	start time.Time

	// total holds every latency recorded (µs).
	total *hdrhistogram.Histogram

	// The second that samples currently arrive in is recorded into cur, a
	// dense histogram, so that Record never allocates. When a sample for a
	// later second arrives, cur is folded into the sparse per-second slot of
	// its second and reset (once a second, not once a sample). Samples for an
	// earlier second (a late completion) go straight into that second's slot.
	// Dense histograms of this range hold ~17k counters (136 KiB); keeping one
	// per second would cost gigabytes on long runs with many workers, the
	// packed ones cost a few bytes per populated bucket.
	cur      *hdrhistogram.Histogram
	curSec   int
	seconds  []*hdrhistogram.PackedHistogram // index: second since start; nil = no samples
	errSecs  []int64                         // errors per second since start
	errKinds map[string]int64

	// seriesDropped counts samples and errors beyond SeriesMaxSeconds.
	seriesDropped int64

	// lag holds how late open-loop requests started after their intended
	// time (µs); nil until the first.
	lag *hdrhistogram.Histogram

	// byOp holds the reads' and the writes' own latencies and errors (Op),
	// at opRead and opWrite; nil until the first of its kind.
	byOp [2]*opRecord
}

// Operation kinds of Report.ByOp.
const (
	OpRead  = "read"
	OpWrite = "write"
)

const (
	opRead = iota
	opWrite
)

var opNames = [2]string{opRead: OpRead, opWrite: OpWrite}

// opRecord is one kind of operation's share of a Recorder.
type opRecord struct {
	hist   *hdrhistogram.Histogram // successful operations' latencies (µs)
	errors int64
}

// NewRecorder returns an empty Recorder whose series starts at start, the
// start of the measurement. Every Recorder of a run must share the same start.
func NewRecorder(start time.Time) *Recorder {
	return &Recorder{
		start:    start,
		total:    newHistogram(),
		cur:      newHistogram(),
		errKinds: make(map[string]int64),
	}
}

func newHistogram() *hdrhistogram.Histogram {
	return hdrhistogram.New(LatencyMinUS, LatencyMaxUS, SignificantDigits)
}

func newPacked() *hdrhistogram.PackedHistogram {
	return hdrhistogram.NewPacked(LatencyMinUS, LatencyMaxUS, SignificantDigits)
}

// Start returns the start of the measurement that the series counts from.
func (r *Recorder) Start() time.Time { return r.start }

// Record records one operation that was intended to start at at and took
// latency, measured from at (in an open-loop run at is the scheduled send
// time, not the actual one, so that a stalled system cannot hide its stall:
// no coordinated omission).
//
// Latency is truncated to whole microseconds and clamped to the histogram's
// range [1 µs, 60 s]. A sample intended before the start counts in second 0.
// Record does not allocate, except once a second for the finished second.
func (r *Recorder) Record(at time.Time, latency time.Duration) {
	v := clampUS(latency)
	// In range by construction: an error here is a programmer error.
	if err := r.total.RecordValue(v); err != nil {
		panic(fmt.Sprintf("report: record %d µs: %v", v, err))
	}
	sec := r.second(at)
	switch {
	case sec == r.curSec:
		_ = r.cur.RecordValue(v)
	case sec >= SeriesMaxSeconds:
		r.seriesDropped++
	case sec > r.curSec:
		r.flush()
		r.curSec = sec
		_ = r.cur.RecordValue(v)
	default: // a late sample for a second already folded
		_ = r.slot(sec).RecordValue(v)
	}
}

func clampUS(d time.Duration) int64 {
	return min(max(d.Microseconds(), LatencyMinUS), LatencyMaxUS)
}

// Op records a measured operation once more, by its kind (bench's
// OpRecorder, called after Record or Error): write or read, its latency,
// and its error kind, empty for a success. The report then gives reads and
// writes their own figures (Report.ByOp).
func (r *Recorder) Op(write bool, latency time.Duration, errKind string) {
	i := opRead
	if write {
		i = opWrite
	}
	o := r.byOp[i]
	if o == nil {
		o = &opRecord{hist: newHistogram()}
		r.byOp[i] = o
	}
	if errKind != "" {
		o.errors++
		return
	}
	_ = o.hist.RecordValue(clampUS(latency)) // in range by construction
}

// Lag records that a request intended at at (an open-loop run) was sent
// lag later: the load generator's own delay, which Record's latency
// includes. A large lag says the generator, not the cluster, fell behind.
func (r *Recorder) Lag(at time.Time, lag time.Duration) {
	if r.lag == nil {
		r.lag = newHistogram()
	}
	_ = r.lag.RecordValue(clampUS(lag)) // in range by construction
}

// Error counts one failed operation of the given kind (ErrorTimeout,
// ErrorNotLeader, ...) intended to start at at. Failed operations are not
// recorded in the latency histogram.
func (r *Recorder) Error(at time.Time, kind string) {
	if kind == "" {
		kind = ErrorFailed
	}
	if _, ok := r.errKinds[kind]; !ok && len(r.errKinds) >= ErrorKindsMax {
		kind = ErrorKindOther
	}
	r.errKinds[kind]++
	sec := r.second(at)
	if sec >= SeriesMaxSeconds {
		r.seriesDropped++
		return
	}
	r.growErrSecs(sec + 1)
	r.errSecs[sec]++
}

func (r *Recorder) second(at time.Time) int {
	d := at.Sub(r.start)
	if d < 0 {
		return 0
	}
	if d >= SeriesMaxSeconds*time.Second {
		return SeriesMaxSeconds
	}
	return int(d / time.Second)
}

func (r *Recorder) growErrSecs(n int) {
	for len(r.errSecs) < n {
		r.errSecs = append(r.errSecs, 0)
	}
}

// slot returns the per-second histogram of second sec, creating it.
func (r *Recorder) slot(sec int) *hdrhistogram.PackedHistogram {
	for len(r.seconds) <= sec {
		r.seconds = append(r.seconds, nil)
	}
	if r.seconds[sec] == nil {
		r.seconds[sec] = newPacked()
	}
	return r.seconds[sec]
}

// flush folds the current second's dense histogram into its slot.
func (r *Recorder) flush() {
	if r.cur.TotalCount() == 0 {
		return
	}
	r.slot(r.curSec).MergeFrom(r.cur)
	r.cur.Reset()
}

// Merge adds the samples and errors of others into r. The others are not
// changed. All must share r's start (a programmer error otherwise).
func (r *Recorder) Merge(others ...*Recorder) {
	r.flush()
	for _, o := range others {
		if o == r || o == nil {
			panic("report: Merge of a recorder into itself or of nil")
		}
		if !o.start.Equal(r.start) {
			panic(fmt.Sprintf("report: Merge of recorders with different starts (%v and %v)", r.start, o.start))
		}
		r.total.Merge(o.total)
		for sec, h := range o.seconds {
			if h != nil {
				r.slot(sec).Merge(h)
			}
		}
		if o.cur.TotalCount() > 0 {
			r.slot(o.curSec).MergeFrom(o.cur)
		}
		r.growErrSecs(len(o.errSecs))
		for sec, n := range o.errSecs {
			r.errSecs[sec] += n
		}
		for kind, n := range o.errKinds {
			if _, ok := r.errKinds[kind]; !ok && len(r.errKinds) >= ErrorKindsMax {
				kind = ErrorKindOther
			}
			r.errKinds[kind] += n
		}
		r.seriesDropped += o.seriesDropped
		if o.lag != nil {
			if r.lag == nil {
				r.lag = newHistogram()
			}
			r.lag.Merge(o.lag)
		}
		for i, op := range o.byOp {
			if op == nil {
				continue
			}
			if r.byOp[i] == nil {
				r.byOp[i] = &opRecord{hist: newHistogram()}
			}
			r.byOp[i].hist.Merge(op.hist)
			r.byOp[i].errors += op.errors
		}
	}
}

// Histogram returns the histogram of every latency recorded, in
// microseconds. It is r's own: do not change it while r is in use.
func (r *Recorder) Histogram() *hdrhistogram.Histogram { return r.total }

// Ops returns the number of successful operations recorded.
func (r *Recorder) Ops() int64 { return r.total.TotalCount() }

// Errors returns a copy of the error counts by kind.
func (r *Recorder) Errors() map[string]int64 {
	m := make(map[string]int64, len(r.errKinds))
	for k, n := range r.errKinds {
		m[k] = n
	}
	return m
}

// SeriesDropped returns how many samples and errors fell beyond
// SeriesMaxSeconds and so are missing from the series (not from the totals).
func (r *Recorder) SeriesDropped() int64 { return r.seriesDropped }

// Series returns one point per second from the start to the last second with
// a sample or an error, empty seconds included (zero ops), and at least
// minSeconds points.
func (r *Recorder) Series(minSeconds int) []Point {
	r.flush()
	n := max(len(r.seconds), len(r.errSecs), minSeconds)
	n = min(n, SeriesMaxSeconds)
	pts := make([]Point, n)
	for sec := range pts {
		p := Point{T: sec}
		if sec < len(r.seconds) && r.seconds[sec] != nil {
			h := r.seconds[sec]
			p.Ops = h.TotalCount()
			q := h.ValueAtPercentilesSlice([]float64{50, 99})
			p.P50US, p.P99US = q[0], q[1]
		}
		if sec < len(r.errSecs) {
			p.Errors = r.errSecs[sec]
		}
		pts[sec] = p
	}
	return pts
}

// forEachInterval calls fn for each second that has samples, in order, with
// the second's histogram stamped with its start and end time.
func (r *Recorder) forEachInterval(fn func(h *hdrhistogram.PackedHistogram) error) error {
	r.flush()
	startMs := r.start.UnixMilli()
	for sec, h := range r.seconds {
		if h == nil {
			continue
		}
		h.SetStartTimeMs(startMs + int64(sec)*1000)
		h.SetEndTimeMs(startMs + int64(sec+1)*1000)
		if err := fn(h); err != nil {
			return err
		}
	}
	return nil
}

// Report builds the report of a run measured from r's start to end. name
// names the run (in bench.txt and comparisons) and config is stored as given
// (it must encode as JSON).
func (r *Recorder) Report(name string, end time.Time, config any) Report {
	dur := end.Sub(r.start)
	rep := Report{
		Schema:      SchemaRun,
		Name:        name,
		Config:      config,
		Start:       r.start,
		End:         end,
		DurationSec: dur.Seconds(),
		Ops:         r.Ops(),
		Errors:      r.Errors(),
		Latency:     LatencyOf(r.total),
	}
	if dur > 0 {
		rep.Throughput = float64(rep.Ops) / dur.Seconds()
	}
	for i, o := range r.byOp {
		if o == nil {
			continue
		}
		if rep.ByOp == nil {
			rep.ByOp = map[string]OpReport{}
		}
		op := OpReport{Ops: o.hist.TotalCount(), Errors: o.errors, Latency: LatencyOf(o.hist)}
		if dur > 0 {
			op.Throughput = float64(op.Ops) / dur.Seconds()
		}
		rep.ByOp[opNames[i]] = op
	}
	if r.lag != nil {
		lag := LatencyOf(r.lag)
		rep.StartLag = &lag
	}
	secs := int((dur + time.Second - 1) / time.Second) // ceil
	rep.Series = r.Series(secs)
	return rep
}

// LatencyOf summarises a histogram of microseconds; all zero when empty.
func LatencyOf(h *hdrhistogram.Histogram) Latency {
	if h == nil || h.TotalCount() == 0 {
		return Latency{}
	}
	q := h.ValueAtPercentilesSlice([]float64{50, 90, 99, 99.9})
	return Latency{
		P50:  q[0],
		P90:  q[1],
		P99:  q[2],
		P999: q[3],
		Max:  h.Max(),
		Min:  h.Min(),
		Mean: h.Mean(),
	}
}
