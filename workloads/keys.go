package workloads

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
)

// KeyWidthDigits is the number of decimal digits of a formatted key: key i
// is "k" followed by i in KeyWidthDigits digits, zero-padded, so that byte
// order is numeric order. It bounds the key space to 10^10 keys.
const KeyWidthDigits = 10

// MaxKeys is the largest key space FormatKey can number.
const MaxKeys = 10_000_000_000

// KeyBytes is the length of a formatted key.
const KeyBytes = 1 + KeyWidthDigits

// AppendKey appends the formatted key i ("k%010d") to dst.
func AppendKey(dst []byte, i uint64) []byte {
	var b [KeyBytes]byte
	b[0] = 'k'
	for j := KeyBytes - 1; j > 0; j-- {
		b[j] = byte('0' + i%10)
		i /= 10
	}
	return append(dst, b[:]...)
}

// Distribution names a key distribution.
type Distribution string

const (
	// Uniform: every key equally likely.
	Uniform Distribution = "uniform"
	// Zipfian: key i (0-based) has probability proportional to
	// 1/(i+1)^s, s > 1, so key 0 is the most popular. Sampled with
	// math/rand/v2's Zipf (rejection-inversion, Hörmann and Derflinger
	// 1996): O(1) per sample, no table.
	Zipfian Distribution = "zipfian"
	// Sequential: keys 0, 1, 2, ..., n-1, then 0 again.
	Sequential Distribution = "sequential"
	// Hotspot: the first HotKeysFraction of the keys (at least one)
	// receive HotAccessProbability of the accesses, uniformly among them;
	// the other keys share the rest uniformly.
	Hotspot Distribution = "hotspot"
)

// KeyConfig describes a key distribution over the key space [0, Keys).
type KeyConfig struct {
	Distribution Distribution // "" means Uniform
	Keys         uint64       // key-space size, 1..MaxKeys

	ZipfS float64 // Zipfian: exponent, > 1

	HotKeysFraction      float64 // Hotspot: share of keys that are hot, in (0, 1]
	HotAccessProbability float64 // Hotspot: share of accesses to hot keys, in [0, 1]
}

// KeyChooser picks key numbers in [0, Keys).
type KeyChooser interface {
	Next() uint64
}

// NewKeyChooser returns the chooser cfg describes, drawing from rng (which
// it then owns: no one else may use it concurrently).
func NewKeyChooser(cfg KeyConfig, rng *rand.Rand) (KeyChooser, error) {
	if cfg.Keys == 0 || cfg.Keys > MaxKeys {
		return nil, fmt.Errorf("workloads: key space of %d keys, want 1..%d", cfg.Keys, uint64(MaxKeys))
	}
	switch cfg.Distribution {
	case Uniform, "":
		return &uniformKeys{rng: rng, n: cfg.Keys}, nil
	case Sequential:
		return &sequentialKeys{n: cfg.Keys}, nil
	case Zipfian:
		if !(cfg.ZipfS > 1) || math.IsInf(cfg.ZipfS, 0) {
			return nil, fmt.Errorf("workloads: zipfian s = %v, want > 1", cfg.ZipfS)
		}
		return zipfKeys{rand.NewZipf(rng, cfg.ZipfS, 1, cfg.Keys-1)}, nil
	case Hotspot:
		if !(cfg.HotKeysFraction > 0 && cfg.HotKeysFraction <= 1) {
			return nil, fmt.Errorf("workloads: hot keys fraction %v, want in (0, 1]", cfg.HotKeysFraction)
		}
		if !(cfg.HotAccessProbability >= 0 && cfg.HotAccessProbability <= 1) {
			return nil, fmt.Errorf("workloads: hot access probability %v, want in [0, 1]", cfg.HotAccessProbability)
		}
		hot := uint64(math.Ceil(cfg.HotKeysFraction * float64(cfg.Keys)))
		hot = min(max(hot, 1), cfg.Keys)
		return &hotspotKeys{rng: rng, n: cfg.Keys, hot: hot, p: cfg.HotAccessProbability}, nil
	}
	return nil, errors.New("workloads: unknown key distribution " + string(cfg.Distribution))
}

type uniformKeys struct {
	rng *rand.Rand
	n   uint64
}

func (u *uniformKeys) Next() uint64 { return u.rng.Uint64N(u.n) }

type zipfKeys struct{ z *rand.Zipf }

func (z zipfKeys) Next() uint64 { return z.z.Uint64() }

type sequentialKeys struct {
	n, next uint64
}

func (s *sequentialKeys) Next() uint64 {
	i := s.next
	s.next++
	if s.next == s.n {
		s.next = 0
	}
	return i
}

type hotspotKeys struct {
	rng    *rand.Rand
	n, hot uint64
	p      float64
}

func (h *hotspotKeys) Next() uint64 {
	if h.hot == h.n || h.rng.Float64() < h.p {
		return h.rng.Uint64N(h.hot)
	}
	return h.hot + h.rng.Uint64N(h.n-h.hot)
}
