package profilingtest

import (
	"bytes"
	"runtime/pprof"
	"testing"
)

func heapProfile(t testing.TB) []byte {
	var b bytes.Buffer
	if err := pprof.Lookup("heap").WriteTo(&b, 0); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestParsePprof(t *testing.T) {
	p, err := ParsePprof(heapProfile(t))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"alloc_objects/count", "alloc_space/bytes", "inuse_objects/count", "inuse_space/bytes"}
	if len(p.SampleTypes) != len(want) {
		t.Fatalf("sample types %v, want %v", p.SampleTypes, want)
	}
	for i := range want {
		if p.SampleTypes[i] != want[i] {
			t.Errorf("sample type %d: got %s, want %s", i, p.SampleTypes[i], want[i])
		}
	}
	if _, err := ParsePprof([]byte("not a profile")); err == nil {
		t.Error("ParsePprof accepted text")
	}
}

func FuzzParsePprof(f *testing.F) {
	f.Add(heapProfile(f))
	f.Add([]byte{0x1f, 0x8b})
	f.Fuzz(func(t *testing.T, data []byte) {
		ParsePprof(data) // must not panic
	})
}
