package tcp

import (
	"io"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/transport/codec"
)

// window is a Handler that hands back credit for the messages received,
// one channel send per Deliver (as a node pushes each batch into its loop),
// so that the sender keeps a bounded number of messages in flight, as the
// node's per-follower window does.
type window struct{ credit chan int }

func (w *window) Deliver(msgs []raft.Message) { w.credit <- len(msgs) }

func (w *window) HandleSnapshot(raft.Message, io.Reader) error { return nil }

// BenchmarkAppendEntries sends MsgApp messages of 64 entries of 128 bytes
// from one transport to another over loopback, with at most inflight
// messages in flight. One op is one message; MB/s counts entry data.
func BenchmarkAppendEntries(b *testing.B) {
	for _, bc := range []struct {
		name     string
		inflight int
		batch    int // messages per Send call
	}{
		{"inflight=256/batch=1", 256, 1},
		{"inflight=256/batch=8", 256, 8},
		{"inflight=16/batch=1", 16, 1},
	} {
		b.Run(bc.name, func(b *testing.B) {
			benchAppend(b, 64, 128, bc.inflight, bc.batch)
		})
	}
}

// BenchmarkEmptyAppends is the same with messages that carry no entries
// (heartbeat-sized): the per-message overhead of the transport.
func BenchmarkEmptyAppends(b *testing.B) {
	benchAppend(b, 0, 0, 256, 1)
}

func benchAppend(b *testing.B, entries, size, inflight, batch int) {
	w := &window{credit: make(chan int, inflight)}
	cfg := func(id uint64) Config {
		return Config{ID: id, ClusterID: 1, ListenAddr: "127.0.0.1:0", Handler: w, QueueLen: 2 * inflight}
	}
	a, err := New(cfg(1))
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	rcv, err := New(cfg(2))
	if err != nil {
		b.Fatal(err)
	}
	defer rcv.Close()
	a.AddPeer(2, rcv.Addr())
	rcv.AddPeer(1, a.Addr())

	m := appMsg(1, 2, 1, entries, size)
	b.SetBytes(int64(entries * size))
	msgs := make([]raft.Message, batch)
	for i := range msgs {
		msgs[i] = m
	}
	// Warm up: connect and allocate buffers.
	a.Send(msgs[:1])
	select {
	case <-w.credit:
	case <-time.After(5 * time.Second):
		b.Fatal("no delivery")
	}

	credit := inflight
	b.ReportAllocs()
	b.ResetTimer()
	begin := time.Now()
	for sent := 0; sent < b.N; {
		n := min(batch, b.N-sent)
		for credit < n {
			credit += <-w.credit
		}
		credit -= n
		a.Send(msgs[:n])
		sent += n
	}
	for credit < inflight {
		credit += <-w.credit
	}
	elapsed := time.Since(begin)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(codec.MessageFrameSize(&m)), "frame-bytes")
	if st := a.PeerStats(2); st.Dropped != 0 {
		b.Fatalf("dropped %d messages", st.Dropped)
	}
}
