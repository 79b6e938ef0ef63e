package workloads

import (
	"encoding/binary"
	"fmt"
	"io"
	"testing"
)

// BenchmarkApplyPut applies puts of 128-byte values over 100k keys, from
// clients with sessions (0: no session).
func BenchmarkApplyPut(b *testing.B) {
	for _, clients := range []int{0, 16, 64, 1000} {
		b.Run(fmt.Sprintf("clients=%d", clients), func(b *testing.B) {
			const keys = 100_000
			entries := make([][]byte, 4096)
			value := make([]byte, 128)
			for i := range entries {
				var client uint64
				if clients > 0 {
					client = uint64(i%clients + 1)
				}
				entries[i] = EncodePut(client, 0, AppendKey(nil, uint64(i*7919%keys)), value)
			}
			kv := NewKV(KVConfig{})
			var index uint64
			for i := range keys { // preload
				index++
				kv.Apply(index, EncodePut(0, 0, AppendKey(nil, uint64(i)), value))
			}
			b.ReportAllocs()
			b.SetBytes(int64(len(entries[0])))
			for i := 0; b.Loop(); i++ {
				index++
				// Stamp the sequence so every session sees a newer one.
				e := entries[i%len(entries)]
				binary.LittleEndian.PutUint64(e[10:], index)
				kv.Apply(index, e)
			}
		})
	}
}

// preloaded returns a KV holding keys keys with 16-byte values, and the
// index of its last entry.
func preloaded(keys int) (*KV, uint64) {
	kv := NewKV(KVConfig{})
	value := make([]byte, 16)
	var index uint64
	for i := range keys {
		index++
		kv.Apply(index, EncodePut(uint64(i%64+1), index, AppendKey(nil, uint64(i)), value))
	}
	return kv, index
}

// BenchmarkSnapshot shows that Snapshot is O(1): similar ns/op for 10k and
// 1M keys.
func BenchmarkSnapshot(b *testing.B) {
	for _, keys := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			kv, _ := preloaded(keys)
			b.ReportAllocs()
			for b.Loop() {
				v, _ := kv.Snapshot()
				v.Release()
			}
		})
	}
}

// BenchmarkSnapshotThenPut adds one put after each Snapshot: the live tree
// then copies the path it changes (O(log n) nodes), the price of
// copy-on-write that real use pays on the first write after a snapshot.
func BenchmarkSnapshotThenPut(b *testing.B) {
	for _, keys := range []int{10_000, 1_000_000} {
		b.Run(fmt.Sprintf("keys=%d", keys), func(b *testing.B) {
			kv, index := preloaded(keys)
			put := EncodePut(0, 0, AppendKey(nil, 1), make([]byte, 16))
			b.ReportAllocs()
			for b.Loop() {
				v, _ := kv.Snapshot()
				index++
				kv.Apply(index, put)
				v.Release()
			}
		})
	}
}

func BenchmarkGeneratorNext(b *testing.B) {
	for _, d := range []Distribution{Uniform, Zipfian, Sequential, Hotspot} {
		b.Run(string(d), func(b *testing.B) {
			g, err := NewGenerator(GeneratorConfig{
				Seed: 1, Keys: KeyConfig{Distribution: d, Keys: 1e6, ZipfS: 1.2, HotKeysFraction: 0.1, HotAccessProbability: 0.9},
				ValueBytesMin: 128, ValueBytesMax: 128, ReadRatio: 0.5,
			})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				g.Next()
			}
		})
	}
}

func BenchmarkKVGet(b *testing.B) {
	kv := NewKV(KVConfig{})
	for i := range 100_000 {
		kv.Apply(uint64(i+1), EncodePut(0, 0, AppendKey(nil, uint64(i)), make([]byte, 128)))
	}
	key := make([]byte, 0, KeyBytes)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		key = AppendKey(key[:0], uint64(i*7919%100_000))
		kv.Get(key)
	}
}

// BenchmarkSnapshotWrite writes a snapshot of 100k keys of 128 B, the
// run command's default state, as a node does every SnapshotEntries.
func BenchmarkSnapshotWrite(b *testing.B) {
	kv := NewKV(KVConfig{})
	val := make([]byte, 128)
	for i := uint64(1); i <= 100_000; i++ {
		kv.Apply(i, EncodePut(i%1024+1, i, AppendKey(nil, i), val))
	}
	v, _ := kv.Snapshot()
	defer v.Release()
	b.ReportAllocs()
	for b.Loop() {
		n, err := v.WriteTo(io.Discard)
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(n)
	}
}
