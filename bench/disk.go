package bench

import (
	"sync"
	"time"

	"github.com/HdrHistogram/hdrhistogram-go"
	"github.com/raftbench/raftbench/raft/node"
)

// DiskStats is what a cluster's disks did since the counts were last reset:
// every group commit of every node, each ended by one fdatasync. A run's
// latency with fsync on is bounded below by these times (a write commits
// once the leader's and a quorum's fdatasync have returned), so a report
// that shows them tells a slow disk from a slow cluster.
type DiskStats struct {
	// Syncs is the group commits synced; Entries the log entries they
	// wrote (a commit of only a term, a vote or a snapshot marker writes
	// none).
	Syncs, Entries int64
	// SyncUS holds each fdatasync's time in microseconds.
	SyncUS *hdrhistogram.Histogram
}

// DiskReporter is an optional Cluster method set for engines that can see
// their nodes' group commits. The run command resets the counts when the
// measured phase begins, so warm-up is left out.
type DiskReporter interface {
	ResetDiskStats()
	// DiskStats returns a copy of the counts since the last reset.
	DiskStats() DiskStats
}

// DiskRecorder gathers the group commits of a cluster's nodes, for an
// engine to embed as its DiskReporter. The nodes' disk goroutines report to
// it at once (Add); it is told once per fdatasync, never per entry, so one
// mutex is cheap enough.
type DiskRecorder struct {
	mu    sync.Mutex
	stats DiskStats
}

// diskMaxUS is the longest fdatasync the histogram holds: 100 s, at 3
// significant digits as the latency histograms.
const diskMaxUS = 100_000_000

// NewDiskRecorder returns an empty DiskRecorder.
func NewDiskRecorder() *DiskRecorder {
	r := &DiskRecorder{}
	r.ResetDiskStats()
	return r
}

// ResetDiskStats starts the counts afresh.
func (r *DiskRecorder) ResetDiskStats() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.stats = DiskStats{SyncUS: hdrhistogram.New(1, diskMaxUS, 3)}
}

// DiskStats returns a copy of the counts since the last reset.
func (r *DiskRecorder) DiskStats() DiskStats {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.stats
	out.SyncUS = hdrhistogram.Import(r.stats.SyncUS.Export())
	return out
}

// Add records one group commit of entries entries whose fdatasync took
// sync.
func (r *DiskRecorder) Add(entries int, sync time.Duration) {
	us := min(sync.Microseconds(), diskMaxUS) // RecordValue refuses more
	r.mu.Lock()
	r.stats.Syncs++
	r.stats.Entries += int64(entries)
	_ = r.stats.SyncUS.RecordValue(us)
	r.mu.Unlock()
}

// diskMetrics passes a node's reports on to next and its group commits to
// the cluster's diskRecorder too.
type diskMetrics struct {
	node.Metrics // next: the observer's, or noMetrics
	disk         *DiskRecorder
}

func (m diskMetrics) GroupCommit(entries int, sync time.Duration) {
	m.disk.Add(entries, sync)
	m.Metrics.GroupCommit(entries, sync)
}

// noMetrics observes nothing.
type noMetrics struct{}

func (noMetrics) Proposed(int)                   {}
func (noMetrics) GroupCommit(int, time.Duration) {}
func (noMetrics) AppendSent(uint64, int)         {}
func (noMetrics) ElectionStarted(uint64)         {}
func (noMetrics) ElectionWon(uint64)             {}
func (noMetrics) LeaderChanged(uint64, uint64)   {}
func (noMetrics) SnapshotTaken(uint64, int64)    {}
