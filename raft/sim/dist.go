package sim

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Dist is a latency distribution. Sample must use only r for randomness so
// that a run is reproducible from its seed.
type Dist interface {
	Sample(r *rand.Rand) time.Duration
	String() string
}

// Const is a fixed latency.
type Const time.Duration

func (c Const) Sample(*rand.Rand) time.Duration { return time.Duration(c) }
func (c Const) String() string                  { return "const:" + time.Duration(c).String() }

// Uniform draws continuously and uniformly from [Min, Max].
type Uniform struct{ Min, Max time.Duration }

func (u Uniform) Sample(r *rand.Rand) time.Duration {
	if u.Max <= u.Min {
		return u.Min
	}
	return u.Min + time.Duration(r.Int64N(int64(u.Max-u.Min)+1))
}

func (u Uniform) String() string { return fmt.Sprintf("uniform:%v-%v", u.Min, u.Max) }

// Exponential is Min plus an exponentially distributed delay of mean Mean: a
// long tail, like a disk's fsync or a busy network.
type Exponential struct{ Min, Mean time.Duration }

func (e Exponential) Sample(r *rand.Rand) time.Duration {
	return e.Min + time.Duration(r.ExpFloat64()*float64(e.Mean))
}

func (e Exponential) String() string { return fmt.Sprintf("exp:%v+%v", e.Min, e.Mean) }

// ParseDist parses a distribution written as
//
//	const:1ms | 1ms           fixed
//	uniform:0.1ms-0.5ms       uniform in [0.1ms, 0.5ms]
//	exp:1ms+2ms               1ms plus an exponential tail of mean 2ms
func ParseDist(s string) (Dist, error) {
	kind, arg, ok := strings.Cut(s, ":")
	if !ok {
		kind, arg = "const", s
	}
	bad := func(err error) (Dist, error) {
		return nil, fmt.Errorf("bad latency distribution %q (want const:D, uniform:D-D or exp:D+D): %v", s, err)
	}
	switch kind {
	case "const":
		d, err := parseNonNeg(arg)
		if err != nil {
			return bad(err)
		}
		return Const(d), nil
	case "uniform":
		lo, hi, ok := strings.Cut(arg, "-")
		if !ok {
			return bad(fmt.Errorf("missing '-'"))
		}
		a, err := parseNonNeg(lo)
		if err != nil {
			return bad(err)
		}
		b, err := parseNonNeg(hi)
		if err != nil {
			return bad(err)
		}
		if b < a {
			return bad(fmt.Errorf("max %v below min %v", b, a))
		}
		return Uniform{a, b}, nil
	case "exp":
		lo, mean, ok := strings.Cut(arg, "+")
		if !ok {
			return bad(fmt.Errorf("missing '+'"))
		}
		a, err := parseNonNeg(lo)
		if err != nil {
			return bad(err)
		}
		m, err := parseNonNeg(mean)
		if err != nil {
			return bad(err)
		}
		return Exponential{a, m}, nil
	}
	return bad(fmt.Errorf("unknown kind %q", kind))
}

func parseNonNeg(s string) (time.Duration, error) {
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, err
	}
	if d < 0 {
		return 0, fmt.Errorf("negative duration %v", d)
	}
	return d, nil
}
