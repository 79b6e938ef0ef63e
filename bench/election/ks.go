package election

import (
	"math"
	"sort"
)

// KSDistance is the Kolmogorov-Smirnov distance between a sample (sorted,
// ms) and a reference distribution given by its quantiles at the whole
// percentiles 0..100 (ms). The reference CDF is taken as piecewise linear
// through the points (q[p], p/100): the paper's lines are known only at
// whole percentiles, so the distance carries up to about 0.01 of that
// rounding.
func KSDistance(sorted []float64, q []float64) float64 {
	if len(sorted) == 0 || len(q) < 2 {
		return math.NaN()
	}
	n := float64(len(sorted))
	var d float64
	for i := 0; i < len(sorted); {
		x := sorted[i]
		j := i
		for j < len(sorted) && sorted[j] == x {
			j++
		}
		f := refCDF(q, x)
		// The sample's CDF jumps at x from i/n to j/n.
		d = max(d, math.Abs(f-float64(i)/n), math.Abs(float64(j)/n-f))
		i = j
	}
	// Where the reference is flat, the distance peaks at its own points.
	for p, x := range q {
		k := sort.SearchFloat64s(sorted, x)                               // samples below x
		k2 := sort.SearchFloat64s(sorted, math.Nextafter(x, math.Inf(1))) // at or below x
		f := float64(p) / float64(len(q)-1)
		d = max(d, math.Abs(f-float64(k)/n), math.Abs(f-float64(k2)/n))
	}
	return d
}

// refCDF evaluates the piecewise-linear CDF through (q[p], p/(len(q)-1)).
func refCDF(q []float64, x float64) float64 {
	last := len(q) - 1
	switch {
	case x < q[0]:
		return 0
	case x >= q[last]:
		return 1
	}
	// The last point at or below x, then interpolate to the next one.
	p := sort.Search(len(q), func(i int) bool { return q[i] > x }) - 1
	lo, hi := q[p], q[p+1]
	frac := 0.0
	if hi > lo {
		frac = (x - lo) / (hi - lo)
	}
	return (float64(p) + frac) / float64(last)
}
