package bench

import (
	"testing"
	"time"
)

func TestDiskRecorderClamps(t *testing.T) {
	r := NewDiskRecorder()
	r.Add(3, time.Hour) // beyond the histogram's range
	r.Add(0, 0)
	st := r.DiskStats()
	if st.Syncs != 2 || st.Entries != 3 || st.SyncUS.TotalCount() != 2 || st.SyncUS.Max() < diskMaxUS*99/100 {
		t.Errorf("stats %+v, max %d: want 2 syncs, 3 entries, the hour clamped to %d µs", st, st.SyncUS.Max(), diskMaxUS)
	}
}
