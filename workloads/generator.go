package workloads

import (
	"fmt"
	"math/rand/v2"
)

// OpKind says whether an Op reads or writes.
type OpKind uint8

const (
	Read  OpKind = 1
	Write OpKind = 2
)

func (k OpKind) String() string {
	switch k {
	case Read:
		return "read"
	case Write:
		return "write"
	}
	return fmt.Sprintf("opkind(%d)", uint8(k))
}

// Op is one request of a workload. Key and Value point into the
// Generator's buffers: they are valid until the next call to Next, and
// must be copied to be kept (EncodePut and friends copy them). Value is
// nil for reads.
type Op struct {
	Kind  OpKind
	Key   []byte
	Value []byte
}

// GeneratorConfig describes a workload: which keys, how large the values,
// how many reads. The same config (seed included) gives the same sequence
// of Ops.
type GeneratorConfig struct {
	Seed uint64
	Keys KeyConfig
	// Value sizes are uniform in [ValueBytesMin, ValueBytesMax]; equal
	// for a fixed size.
	ValueBytesMin, ValueBytesMax int
	// ReadRatio is the probability that an Op is a read, in [0, 1].
	ReadRatio float64
}

// Generator produces a seeded stream of Ops. It is not safe for
// concurrent use: give each worker its own (with its own seed).
type Generator struct {
	rng                  *rand.Rand
	keys                 KeyChooser
	valueMin, valueRange int
	readRatio            float64
	key                  []byte
	value                []byte // ValueBytesMax seeded bytes; Ops take prefixes
}

// NewGenerator returns a Generator for cfg.
func NewGenerator(cfg GeneratorConfig) (*Generator, error) {
	if cfg.ValueBytesMin < 0 || cfg.ValueBytesMax < cfg.ValueBytesMin || cfg.ValueBytesMax > MaxValueBytes {
		return nil, fmt.Errorf("workloads: value bytes %d..%d, want 0 <= min <= max <= %d", cfg.ValueBytesMin, cfg.ValueBytesMax, MaxValueBytes)
	}
	if !(cfg.ReadRatio >= 0 && cfg.ReadRatio <= 1) {
		return nil, fmt.Errorf("workloads: read ratio %v, want in [0, 1]", cfg.ReadRatio)
	}
	// PCG with the seed in one half of its state and a fixed constant in
	// the other: distinct seeds give unrelated streams.
	rng := rand.New(rand.NewPCG(cfg.Seed, 0x9e3779b97f4a7c15))
	keys, err := NewKeyChooser(cfg.Keys, rng)
	if err != nil {
		return nil, err
	}
	value := make([]byte, cfg.ValueBytesMax)
	for i := range value {
		value[i] = byte(rng.Uint32())
	}
	return &Generator{
		rng:        rng,
		keys:       keys,
		valueMin:   cfg.ValueBytesMin,
		valueRange: cfg.ValueBytesMax - cfg.ValueBytesMin + 1,
		readRatio:  cfg.ReadRatio,
		key:        make([]byte, 0, KeyBytes),
		value:      value,
	}, nil
}

// Next returns the next Op. It does not allocate.
func (g *Generator) Next() Op {
	op := Op{Kind: Write}
	if g.readRatio > 0 && g.rng.Float64() < g.readRatio {
		op.Kind = Read
	}
	g.key = AppendKey(g.key[:0], g.keys.Next())
	op.Key = g.key
	if op.Kind == Write {
		n := g.valueMin
		if g.valueRange > 1 {
			n += g.rng.IntN(g.valueRange)
		}
		op.Value = g.value[:n:n]
	}
	return op
}
