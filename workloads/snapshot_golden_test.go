package workloads

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"testing"
)

// The snapshot format does not change by accident: a fixed state writes
// the same bytes as when this test was written (a change of format is a
// new snapshotVersion, and a new hash here).
func TestSnapshotBytesAreStable(t *testing.T) {
	kv := NewKV(KVConfig{})
	for i := uint64(1); i <= 30000; i++ {
		key := AppendKey(nil, i%7000)
		val := bytes.Repeat([]byte{byte(i)}, int(i%300))
		kv.Apply(i, EncodePut(i%50+1, i, key, val))
	}
	v, _ := kv.Snapshot()
	var b bytes.Buffer
	if _, err := v.WriteTo(&b); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b.Bytes())
	const want = "9e0365731d83c7ca3212723261712d3c276e042359b620f535046bc02cb7ef73"
	if got := hex.EncodeToString(sum[:]); got != want || b.Len() != 1190790 {
		t.Errorf("snapshot of %d bytes hashes to %s; want 1190790 bytes hashing to %s", b.Len(), got, want)
	}
}
