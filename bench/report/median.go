package report

import (
	"slices"
)

// Median summarises repeated runs of one configuration as one report: each
// figure (throughput, operations, errors by kind, every latency percentile,
// the resources, the disk's figures, each part of the CPU profile) is the median of that figure over the runs, so one
// disturbed round moves no figure. The series is left out, and the window
// spans the first start to the last end. Config is the first run's.
func Median(name string, reps []Report) Report {
	if len(reps) == 0 {
		return Report{Schema: SchemaRun, Name: name}
	}
	med := func(get func(Report) float64) float64 {
		v := make([]float64, len(reps))
		for i, r := range reps {
			v[i] = get(r)
		}
		slices.Sort(v)
		n := len(v)
		if n%2 == 1 {
			return v[n/2]
		}
		return (v[n/2-1] + v[n/2]) / 2
	}
	medInt := func(get func(Report) int64) int64 {
		return int64(med(func(r Report) float64 { return float64(get(r)) }) + 0.5)
	}
	start, end := reps[0].Start, reps[0].End
	for _, r := range reps[1:] {
		if r.Start.Before(start) {
			start = r.Start
		}
		if r.End.After(end) {
			end = r.End
		}
	}
	out := Report{
		Schema: SchemaRun, Name: name, Config: reps[0].Config,
		Start: start, End: end,
		DurationSec: med(func(r Report) float64 { return r.DurationSec }),
		Ops:         medInt(func(r Report) int64 { return r.Ops }),
		Throughput:  med(func(r Report) float64 { return r.Throughput }),
		Latency:     medianLatency(reps, func(r Report) *Latency { return &r.Latency }, med),
		Errors:      map[string]int64{},
	}
	for _, r := range reps {
		for k := range r.Errors {
			out.Errors[k] = medInt(func(r Report) int64 { return r.Errors[k] })
		}
	}
	if reps[0].StartLag != nil {
		lag := medianLatency(reps, func(r Report) *Latency {
			if r.StartLag == nil {
				return &Latency{}
			}
			return r.StartLag
		}, med)
		out.StartLag = &lag
	}
	if reps[0].Resources != nil {
		res := func(r Report) Resources {
			if r.Resources == nil {
				return Resources{}
			}
			return *r.Resources
		}
		out.Resources = &Resources{
			CPUSeconds:           med(func(r Report) float64 { return res(r).CPUSeconds }),
			CPUSecondsPer100kOps: med(func(r Report) float64 { return res(r).CPUSecondsPer100kOps }),
			MaxRSSBytes:          medInt(func(r Report) int64 { return res(r).MaxRSSBytes }),
		}
	}
	for kind := range reps[0].ByOp {
		op := func(r Report) OpReport { return r.ByOp[kind] }
		if out.ByOp == nil {
			out.ByOp = map[string]OpReport{}
		}
		out.ByOp[kind] = OpReport{
			Ops:        medInt(func(r Report) int64 { return op(r).Ops }),
			Errors:     medInt(func(r Report) int64 { return op(r).Errors }),
			Throughput: med(func(r Report) float64 { return op(r).Throughput }),
			Latency:    medianLatency(reps, func(r Report) *Latency { l := op(r).Latency; return &l }, med),
		}
	}
	if reps[0].Disk != nil {
		disk := func(r Report) *Disk {
			if r.Disk == nil {
				return &Disk{}
			}
			return r.Disk
		}
		out.Disk = &Disk{
			Fsyncs:          medInt(func(r Report) int64 { return disk(r).Fsyncs }),
			FsyncsPerSec:    med(func(r Report) float64 { return disk(r).FsyncsPerSec }),
			EntriesPerFsync: med(func(r Report) float64 { return disk(r).EntriesPerFsync }),
			FsyncUS:         medianLatency(reps, func(r Report) *Latency { return &disk(r).FsyncUS }, med),
		}
	}
	if reps[0].CPUProfile != nil {
		prof := func(r Report) *CPUProfile {
			if r.CPUProfile == nil {
				return &CPUProfile{}
			}
			return r.CPUProfile
		}
		out.CPUProfile = &CPUProfile{
			ProfiledSec: med(func(r Report) float64 { return prof(r).ProfiledSec }),
			Sec:         map[string]float64{},
			USPerOp:     map[string]float64{},
		}
		for part := range reps[0].CPUProfile.Sec {
			out.CPUProfile.Sec[part] = med(func(r Report) float64 { return prof(r).Sec[part] })
			out.CPUProfile.USPerOp[part] = med(func(r Report) float64 { return prof(r).USPerOp[part] })
		}
	}
	return out
}

func medianLatency(reps []Report, get func(Report) *Latency, med func(func(Report) float64) float64) Latency {
	medInt := func(f func(Report) int64) int64 {
		return int64(med(func(r Report) float64 { return float64(f(r)) }) + 0.5)
	}
	return Latency{
		P50:  medInt(func(r Report) int64 { return get(r).P50 }),
		P90:  medInt(func(r Report) int64 { return get(r).P90 }),
		P99:  medInt(func(r Report) int64 { return get(r).P99 }),
		P999: medInt(func(r Report) int64 { return get(r).P999 }),
		Max:  medInt(func(r Report) int64 { return get(r).Max }),
		Min:  medInt(func(r Report) int64 { return get(r).Min }),
		Mean: med(func(r Report) float64 { return get(r).Mean }),
	}
}
