package workloads

import (
	"bytes"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func TestAppendKey(t *testing.T) {
	tests := []struct {
		i    uint64
		want string
	}{
		{0, "k0000000000"},
		{42, "k0000000042"},
		{MaxKeys - 1, "k9999999999"},
	}
	for _, tt := range tests {
		if got := string(AppendKey(nil, tt.i)); got != tt.want || got != fmt.Sprintf("k%010d", tt.i) {
			t.Errorf("AppendKey(%d): got %q, want %q", tt.i, got, tt.want)
		}
	}
	if bytes.Compare(AppendKey(nil, 9), AppendKey(nil, 10)) >= 0 {
		t.Error("key 9 does not sort before key 10")
	}
}

// counts draws samples key numbers from cfg's chooser.
func counts(t *testing.T, cfg KeyConfig, samples int) []int {
	t.Helper()
	c, err := NewKeyChooser(cfg, rand.New(rand.NewPCG(7, 7)))
	if err != nil {
		t.Fatalf("NewKeyChooser: %v", err)
	}
	n := make([]int, cfg.Keys)
	for range samples {
		k := c.Next()
		if k >= cfg.Keys {
			t.Fatalf("key %d out of [0, %d)", k, cfg.Keys)
		}
		n[k]++
	}
	return n
}

func TestUniformKeys(t *testing.T) {
	const keys, samples = 100, 200_000
	n := counts(t, KeyConfig{Distribution: Uniform, Keys: keys}, samples)
	expected := float64(samples) / keys
	var chi2 float64
	for k, c := range n {
		d := float64(c) - expected
		chi2 += d * d / expected
		// Each bucket within 10% (about 7 standard deviations).
		if math.Abs(d) > 0.1*expected {
			t.Errorf("key %d drawn %d times, want %v ± 10%%", k, c, expected)
		}
	}
	// 99 degrees of freedom: mean 99, standard deviation 14; 170 is 5 sd.
	if chi2 > 170 {
		t.Errorf("chi-square %.1f with 99 degrees of freedom, want < 170", chi2)
	}
}

func TestZipfianKeys(t *testing.T) {
	tests := []struct {
		keys uint64
		s    float64
	}{
		{1000, 1.1},
		{1000, 1.5},
		{100_000, 2},
	}
	const samples = 200_000
	for _, tt := range tests {
		t.Run(fmt.Sprintf("n=%d,s=%v", tt.keys, tt.s), func(t *testing.T) {
			n := counts(t, KeyConfig{Distribution: Zipfian, Keys: tt.keys, ZipfS: tt.s}, samples)
			var h float64 // generalized harmonic number H(n, s)
			for k := tt.keys; k >= 1; k-- {
				h += math.Pow(float64(k), -tt.s)
			}
			for rank := range 3 {
				want := math.Pow(float64(rank+1), -tt.s) / h
				got := float64(n[rank]) / samples
				// 1.5 percentage points: over 5 standard deviations here.
				if math.Abs(got-want) > 0.015 {
					t.Errorf("key %d share: got %.4f, want %.4f ± 0.015", rank, got, want)
				}
			}
		})
	}
}

func TestHotspotKeys(t *testing.T) {
	tests := []struct {
		fraction, probability float64
		wantHot               int
	}{
		{0.2, 0.8, 200},
		{0.01, 0.99, 10},
		{0.5, 0.5, 500},
		{0.0001, 0.9, 1}, // at least one hot key
		{1, 0.3, 1000},   // everything is hot
	}
	const keys, samples = 1000, 200_000
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%v/%v", tt.fraction, tt.probability), func(t *testing.T) {
			n := counts(t, KeyConfig{Distribution: Hotspot, Keys: keys, HotKeysFraction: tt.fraction, HotAccessProbability: tt.probability}, samples)
			hot := 0
			for _, c := range n[:tt.wantHot] {
				hot += c
			}
			want := tt.probability
			if tt.wantHot == keys {
				want = 1
			}
			if got := float64(hot) / samples; math.Abs(got-want) > 0.01 {
				t.Errorf("share of the %d hot keys: got %.4f, want %.4f ± 0.01", tt.wantHot, got, want)
			}
			if tt.wantHot < keys {
				cold := samples - hot
				perCold := float64(cold) / float64(keys-tt.wantHot)
				for k, c := range n[tt.wantHot:] {
					if math.Abs(float64(c)-perCold) > 0.5*perCold+10 {
						t.Fatalf("cold key %d drawn %d times, want about %.0f", tt.wantHot+k, c, perCold)
					}
				}
			}
		})
	}
}

func TestSequentialKeysWrap(t *testing.T) {
	c, err := NewKeyChooser(KeyConfig{Distribution: Sequential, Keys: 5}, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []uint64{0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1}
	for i, w := range want {
		if got := c.Next(); got != w {
			t.Fatalf("draw %d: got %d, want %d", i, got, w)
		}
	}
}

func TestKeyConfigInvalid(t *testing.T) {
	tests := []KeyConfig{
		{Distribution: Uniform, Keys: 0},
		{Distribution: Uniform, Keys: MaxKeys + 1},
		{Distribution: Zipfian, Keys: 10, ZipfS: 1},
		{Distribution: Zipfian, Keys: 10, ZipfS: math.NaN()},
		{Distribution: Hotspot, Keys: 10, HotKeysFraction: 0, HotAccessProbability: 0.5},
		{Distribution: Hotspot, Keys: 10, HotKeysFraction: 0.5, HotAccessProbability: 1.5},
		{Distribution: "pareto", Keys: 10},
	}
	for _, cfg := range tests {
		if _, err := NewKeyChooser(cfg, rand.New(rand.NewPCG(1, 1))); err == nil {
			t.Errorf("NewKeyChooser(%+v): got no error", cfg)
		}
	}
}

func TestGeneratorInvalid(t *testing.T) {
	keys := KeyConfig{Keys: 10}
	tests := []GeneratorConfig{
		{Keys: keys, ValueBytesMin: -1, ValueBytesMax: 10},
		{Keys: keys, ValueBytesMin: 10, ValueBytesMax: 9},
		{Keys: keys, ValueBytesMax: MaxValueBytes + 1},
		{Keys: keys, ReadRatio: -0.1},
		{Keys: keys, ReadRatio: 1.1},
		{Keys: KeyConfig{}},
	}
	for _, cfg := range tests {
		if _, err := NewGenerator(cfg); err == nil {
			t.Errorf("NewGenerator(%+v): got no error", cfg)
		}
	}
}

func TestGeneratorSameSeedSameSequence(t *testing.T) {
	cfg := GeneratorConfig{
		Keys:          KeyConfig{Distribution: Zipfian, Keys: 1000, ZipfS: 1.2},
		ValueBytesMin: 10, ValueBytesMax: 100,
		ReadRatio: 0.5,
	}
	run := func(seed uint64) []string {
		cfg.Seed = seed
		g, err := NewGenerator(cfg)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for range 1000 {
			op := g.Next()
			out = append(out, fmt.Sprintf("%v %s %x", op.Kind, op.Key, op.Value))
		}
		return out
	}
	a, b, c := run(1), run(1), run(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("op %d: seed 1 gave %q then %q", i, a[i], b[i])
		}
	}
	same := 0
	for i := range a {
		if a[i] == c[i] {
			same++
		}
	}
	if same > len(a)/10 {
		t.Fatalf("seeds 1 and 2 agree on %d of %d ops", same, len(a))
	}
}

func TestGeneratorMix(t *testing.T) {
	tests := []struct {
		readRatio          float64
		valueMin, valueMax int
	}{
		{0, 128, 128},
		{1, 0, 0},
		{0.5, 1, 1024},
		{0.95, 0, 16},
		{0.1, 100, 101},
	}
	const samples = 100_000
	for _, tt := range tests {
		t.Run(fmt.Sprintf("r=%v,v=%d-%d", tt.readRatio, tt.valueMin, tt.valueMax), func(t *testing.T) {
			g, err := NewGenerator(GeneratorConfig{
				Seed: 3, Keys: KeyConfig{Keys: 100},
				ValueBytesMin: tt.valueMin, ValueBytesMax: tt.valueMax, ReadRatio: tt.readRatio,
			})
			if err != nil {
				t.Fatal(err)
			}
			reads, sizeMin, sizeMax, sizeSum := 0, math.MaxInt, -1, 0
			for range samples {
				op := g.Next()
				if len(op.Key) != KeyBytes {
					t.Fatalf("key %q: length %d, want %d", op.Key, len(op.Key), KeyBytes)
				}
				switch op.Kind {
				case Read:
					reads++
					if op.Value != nil {
						t.Fatalf("read with a value of %d bytes", len(op.Value))
					}
				case Write:
					sizeMin, sizeMax = min(sizeMin, len(op.Value)), max(sizeMax, len(op.Value))
					sizeSum += len(op.Value)
				default:
					t.Fatalf("op kind %v", op.Kind)
				}
			}
			if got := float64(reads) / samples; math.Abs(got-tt.readRatio) > 0.01 {
				t.Errorf("read share: got %.4f, want %.2f ± 0.01", got, tt.readRatio)
			}
			if writes := samples - reads; writes > 0 {
				if sizeMin != tt.valueMin || sizeMax != tt.valueMax {
					t.Errorf("value sizes %d..%d, want %d..%d", sizeMin, sizeMax, tt.valueMin, tt.valueMax)
				}
				mean, want := float64(sizeSum)/float64(writes), float64(tt.valueMin+tt.valueMax)/2
				if math.Abs(mean-want) > 0.02*want+0.5 {
					t.Errorf("mean value size %.2f, want %.2f ± 2%%", mean, want)
				}
			}
		})
	}
}

func TestGeneratorNextDoesNotAllocate(t *testing.T) {
	for _, d := range []Distribution{Uniform, Zipfian, Sequential, Hotspot} {
		g, err := NewGenerator(GeneratorConfig{
			Seed: 1, Keys: KeyConfig{Distribution: d, Keys: 1e6, ZipfS: 1.2, HotKeysFraction: 0.1, HotAccessProbability: 0.9},
			ValueBytesMin: 16, ValueBytesMax: 256, ReadRatio: 0.5,
		})
		if err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(1000, func() { g.Next() }); n != 0 {
			t.Errorf("%s: Next allocates %v times per call, want 0", d, n)
		}
	}
}
