package report

import (
	"math/rand/v2"
	"reflect"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 600_000_000, time.UTC)

type sample struct {
	at      time.Duration // since t0
	latency time.Duration
	err     string // not "": an error of this kind instead of a latency
}

// samples returns n seeded samples over span, with some errors and some
// out-of-order (late) intended times.
func samples(seed uint64, n int, span time.Duration) []sample {
	rng := rand.New(rand.NewPCG(seed, seed))
	kinds := []string{ErrorTimeout, ErrorNotLeader, ErrorDropped, ErrorFailed}
	out := make([]sample, n)
	for i := range out {
		at := time.Duration(i) * span / time.Duration(n)
		if rng.IntN(10) == 0 {
			at -= time.Duration(rng.Int64N(int64(2 * time.Second))) // late completion
		}
		s := sample{at: at, latency: time.Duration(rng.ExpFloat64() * float64(2*time.Millisecond))}
		if rng.IntN(50) == 0 {
			s.err = kinds[rng.IntN(len(kinds))]
		}
		out[i] = s
	}
	return out
}

func (s sample) apply(r *Recorder) {
	if s.err != "" {
		r.Error(t0.Add(s.at), s.err)
		return
	}
	r.Record(t0.Add(s.at), s.latency)
}

func TestMergeEqualsSingle(t *testing.T) {
	tests := []struct {
		name    string
		workers int
		n       int
		span    time.Duration
	}{
		{"one worker", 1, 1000, 3 * time.Second},
		{"four workers", 4, 20000, 10 * time.Second},
		{"more workers than seconds", 16, 5000, 2 * time.Second},
		{"some workers idle", 8, 3, 5 * time.Second},
		{"nothing recorded", 3, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all := samples(uint64(tt.n), tt.n, tt.span)
			single := NewRecorder(t0)
			workers := make([]*Recorder, tt.workers)
			for i := range workers {
				workers[i] = NewRecorder(t0)
			}
			for i, s := range all {
				s.apply(single)
				s.apply(workers[i%tt.workers])
			}
			merged := workers[0]
			merged.Merge(workers[1:]...)

			if !merged.Histogram().Equals(single.Histogram()) {
				t.Errorf("merged histogram differs from the single one")
			}
			for _, p := range []float64{50, 90, 99, 99.9, 100} {
				got, want := merged.Histogram().ValueAtPercentile(p), single.Histogram().ValueAtPercentile(p)
				if got != want {
					t.Errorf("p%v: got %d, want %d", p, got, want)
				}
			}
			if got, want := merged.Errors(), single.Errors(); !reflect.DeepEqual(got, want) {
				t.Errorf("errors: got %v, want %v", got, want)
			}
			secs := int(tt.span / time.Second)
			if got, want := merged.Series(secs), single.Series(secs); !reflect.DeepEqual(got, want) {
				t.Errorf("series:\ngot  %+v\nwant %+v", got, want)
			}
			end := t0.Add(tt.span)
			if got, want := merged.Report("r", end, nil), single.Report("r", end, nil); !reflect.DeepEqual(got, want) {
				t.Errorf("report:\ngot  %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestMergeLeavesOthersUnchanged(t *testing.T) {
	a, b := NewRecorder(t0), NewRecorder(t0)
	for _, s := range samples(1, 500, 2*time.Second) {
		s.apply(b)
	}
	before := b.Report("b", t0.Add(2*time.Second), nil)
	a.Merge(b)
	a.Merge(b) // twice: b's counts are added again, b itself unchanged
	after := b.Report("b", t0.Add(2*time.Second), nil)
	if !reflect.DeepEqual(before, after) {
		t.Errorf("merge changed its argument:\nbefore %+v\nafter  %+v", before, after)
	}
	if got, want := a.Ops(), 2*b.Ops(); got != want {
		t.Errorf("ops after merging twice: got %d, want %d", got, want)
	}
}

func TestMergeDifferentStartPanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Errorf("Merge of recorders with different starts did not panic")
		}
	}()
	NewRecorder(t0).Merge(NewRecorder(t0.Add(time.Second)))
}

func TestSeriesBuckets(t *testing.T) {
	type rec struct {
		at      time.Duration
		latency time.Duration
		err     string
	}
	tests := []struct {
		name    string
		recs    []rec
		minSecs int
		want    []Point
	}{
		{
			name: "half seconds fall in seconds 0 and 1",
			recs: []rec{{at: 500 * time.Millisecond, latency: 100 * time.Microsecond}, {at: 1500 * time.Millisecond, latency: 200 * time.Microsecond}},
			want: []Point{{T: 0, Ops: 1, P50US: 100, P99US: 100}, {T: 1, Ops: 1, P50US: 200, P99US: 200}},
		},
		{
			name: "second boundaries are half open",
			recs: []rec{{at: 0, latency: 10 * time.Microsecond}, {at: time.Second - 1, latency: 10 * time.Microsecond}, {at: time.Second, latency: 30 * time.Microsecond}},
			want: []Point{{T: 0, Ops: 2, P50US: 10, P99US: 10}, {T: 1, Ops: 1, P50US: 30, P99US: 30}},
		},
		{
			name:    "empty seconds are kept and padded to the duration",
			recs:    []rec{{at: 2100 * time.Millisecond, latency: 7 * time.Microsecond}},
			minSecs: 5,
			want:    []Point{{T: 0}, {T: 1}, {T: 2, Ops: 1, P50US: 7, P99US: 7}, {T: 3}, {T: 4}},
		},
		{
			name: "late sample goes back to its second",
			recs: []rec{{at: 2500 * time.Millisecond, latency: 50 * time.Microsecond}, {at: 200 * time.Millisecond, latency: 60 * time.Microsecond}},
			want: []Point{{T: 0, Ops: 1, P50US: 60, P99US: 60}, {T: 1}, {T: 2, Ops: 1, P50US: 50, P99US: 50}},
		},
		{
			name: "before the start counts in second 0",
			recs: []rec{{at: -3 * time.Second, latency: 5 * time.Microsecond}},
			want: []Point{{T: 0, Ops: 1, P50US: 5, P99US: 5}},
		},
		{
			name: "errors are counted per second",
			recs: []rec{{at: 300 * time.Millisecond, err: ErrorTimeout}, {at: 1300 * time.Millisecond, err: ErrorNotLeader}, {at: 1400 * time.Millisecond, err: ErrorNotLeader}, {at: 1500 * time.Millisecond, latency: time.Millisecond}},
			want: []Point{{T: 0, Errors: 1}, {T: 1, Ops: 1, Errors: 2, P50US: 1000, P99US: 1000}},
		},
		{
			name: "p50 and p99 within a second",
			recs: func() []rec {
				var rs []rec
				for i := 1; i <= 100; i++ {
					rs = append(rs, rec{at: 3 * time.Second, latency: time.Duration(i) * time.Microsecond})
				}
				return rs
			}(),
			want: []Point{{T: 0}, {T: 1}, {T: 2}, {T: 3, Ops: 100, P50US: 50, P99US: 99}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := NewRecorder(t0)
			for _, x := range tt.recs {
				if x.err != "" {
					r.Error(t0.Add(x.at), x.err)
				} else {
					r.Record(t0.Add(x.at), x.latency)
				}
			}
			if got := r.Series(tt.minSecs); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("series:\ngot  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestRecordClampsLatency(t *testing.T) {
	tests := []struct {
		latency time.Duration
		want    int64 // µs recorded
	}{
		{0, 1},
		{-time.Second, 1},
		{999 * time.Nanosecond, 1},
		{1999 * time.Nanosecond, 1},
		{1234 * time.Microsecond, 1234},
		{2 * time.Minute, LatencyMaxUS},
	}
	for _, tt := range tests {
		r := NewRecorder(t0)
		r.Record(t0, tt.latency)
		h := r.Histogram()
		if got := h.Max(); !h.ValuesAreEquivalent(got, tt.want) {
			t.Errorf("Record(%v): recorded %d µs, want %d", tt.latency, got, tt.want)
		}
	}
}

func TestSeriesIsBounded(t *testing.T) {
	r := NewRecorder(t0)
	late := t0.Add((SeriesMaxSeconds + 5) * time.Second)
	r.Record(t0, time.Millisecond)
	r.Record(late, time.Millisecond)
	r.Error(late, ErrorTimeout)
	if got, want := r.Ops(), int64(2); got != want {
		t.Errorf("ops: got %d, want %d", got, want)
	}
	if got, want := r.SeriesDropped(), int64(2); got != want {
		t.Errorf("series dropped: got %d, want %d", got, want)
	}
	if got := len(r.Series(0)); got != 1 {
		t.Errorf("series length: got %d, want 1", got)
	}
}

func TestErrorKindsAreBounded(t *testing.T) {
	r := NewRecorder(t0)
	for i := range ErrorKindsMax + 10 {
		r.Error(t0, string(rune('A'+i%26))+string(rune('a'+i/26)))
	}
	r.Error(t0, "")
	errs := r.Errors()
	if len(errs) > ErrorKindsMax+1 {
		t.Errorf("got %d error kinds, want at most %d", len(errs), ErrorKindsMax+1)
	}
	if got, want := errs[ErrorKindOther], int64(11); got != want { // 10 extra kinds, then "" as "failed"
		t.Errorf("other: got %d, want %d", got, want)
	}
	var total int64
	for _, n := range errs {
		total += n
	}
	if got, want := total, int64(ErrorKindsMax+11); got != want {
		t.Errorf("total errors: got %d, want %d", got, want)
	}
}

func TestReportSummary(t *testing.T) {
	r := NewRecorder(t0)
	for i := 1; i <= 1000; i++ {
		r.Record(t0.Add(time.Duration(i)*time.Millisecond), time.Duration(i)*time.Microsecond)
	}
	r.Error(t0, ErrorTimeout)
	rep := r.Report("x", t0.Add(2*time.Second), map[string]any{"rate": 500})
	if rep.Schema != SchemaRun || rep.Ops != 1000 || rep.DurationSec != 2 || rep.Throughput != 500 {
		t.Errorf("got schema %q ops %d duration %v throughput %v, want %q 1000 2 500", rep.Schema, rep.Ops, rep.DurationSec, rep.Throughput, SchemaRun)
	}
	want := Latency{P50: 500, P90: 900, P99: 990, P999: 999, Max: 1000, Min: 1}
	got := rep.Latency
	got.Mean = 0
	if got != want {
		t.Errorf("latency: got %+v, want %+v", got, want)
	}
	if m := rep.Latency.Mean; m < 499 || m > 502 {
		t.Errorf("mean: got %v, want about 500.5", m)
	}
	if len(rep.Series) != 2 || rep.Series[0].Ops != 999 || rep.Series[1].Ops != 1 || rep.Series[0].Errors != 1 {
		t.Errorf("series: got %+v, want 2 points with 999 and 1 ops, 1 error in the first", rep.Series)
	}
	if got := rep.ErrorCount(); got != 1 {
		t.Errorf("ErrorCount: got %d, want 1", got)
	}
}

func BenchmarkRecord(b *testing.B) {
	r := NewRecorder(t0)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		// 1 µs apart: a new second every 10^6 operations.
		r.Record(t0.Add(time.Duration(i)*time.Microsecond), time.Duration(50+i%5000)*time.Microsecond)
	}
}

// Lags are summarized only when recorded, and merge like latencies.
func TestRecorderLag(t *testing.T) {
	start := time.Unix(1000, 0)
	a, b := NewRecorder(start), NewRecorder(start)
	a.Record(start, time.Millisecond)
	if rep := a.Report("x", start.Add(time.Second), nil); rep.StartLag != nil {
		t.Fatalf("StartLag %+v without any lag recorded", rep.StartLag)
	}
	for i := range 99 {
		a.Lag(start, time.Duration(i+1)*time.Microsecond)
	}
	b.Lag(start, 50*time.Millisecond)
	a.Merge(b)
	rep := a.Report("x", start.Add(time.Second), nil)
	if rep.StartLag == nil || rep.StartLag.Max < 49_000 || rep.StartLag.P50 < 45 || rep.StartLag.P50 > 55 {
		t.Fatalf("StartLag %+v: want p50 about 50 µs and max about 50 ms", rep.StartLag)
	}
}

// Reads and writes get their own figures, merged like the totals, and a
// run that reports no operations has none.
func TestRecorderByOp(t *testing.T) {
	start := time.Unix(1000, 0)
	a, b := NewRecorder(start), NewRecorder(start)
	if rep := a.Report("x", start.Add(time.Second), nil); rep.ByOp != nil {
		t.Fatalf("ByOp %+v without any operation recorded", rep.ByOp)
	}
	for i := 1; i <= 100; i++ {
		lat := time.Duration(i) * time.Microsecond
		a.Record(start, lat)
		a.Op(false, lat, "")
	}
	for i := 1; i <= 10; i++ {
		lat := time.Duration(i) * time.Millisecond
		b.Record(start, lat)
		b.Op(true, lat, "")
	}
	b.Error(start, ErrorTimeout)
	b.Op(true, time.Second, ErrorTimeout)
	a.Merge(b)
	rep := a.Report("x", start.Add(2*time.Second), nil)
	r, w := rep.ByOp[OpRead], rep.ByOp[OpWrite]
	if len(rep.ByOp) != 2 || r.Ops != 100 || r.Errors != 0 || w.Ops != 10 || w.Errors != 1 {
		t.Fatalf("by op %+v: want 100 reads, 10 writes and 1 failed write", rep.ByOp)
	}
	if r.Ops+w.Ops != rep.Ops || r.Throughput != 50 || w.Throughput != 5 {
		t.Errorf("ops %d + %d of %d, throughputs %v and %v: want the totals split, 50/s and 5/s", r.Ops, w.Ops, rep.Ops, r.Throughput, w.Throughput)
	}
	if r.Latency.Max != 100 || w.Latency.Min < 990 || w.Latency.P50 < 4990 || w.Latency.P50 > 5010 {
		t.Errorf("latencies: reads %+v, writes %+v; want reads up to 100 µs, writes 1-10 ms", r.Latency, w.Latency)
	}
	// The failed write's second is not a latency.
	if w.Latency.Max > 10_100 {
		t.Errorf("write max %d µs: a failed write was recorded as a latency", w.Latency.Max)
	}
}
