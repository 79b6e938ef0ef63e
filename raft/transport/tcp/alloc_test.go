package tcp

import (
	"bufio"
	"io"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

// The sending hot path allocates nothing per message: Send's queueing,
// the writer's queue swap, and encoding into the bufio.Writer.
func TestSendPathDoesNotAllocate(t *testing.T) {
	m := appMsg(1, 2, 1, 64, 128)
	big := appMsg(1, 2, 1, 4, 32<<10) // larger than the buffer: encoded via scratch
	tests := []struct {
		name string
		m    *raft.Message
	}{
		{"append of 64 entries", &m},
		{"heartbeat", &raft.Message{Type: raft.MsgHeartbeat, From: 1, To: 2, Term: 3, Commit: 9}},
		{"message larger than the write buffer", &big},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &peer{t: &Transport{cfg: Config{QueueLen: 64}}, wake: make(chan struct{}, 1)}
			bw := bufio.NewWriterSize(io.Discard, bufferBytes)
			msgs := []raft.Message{*tt.m, *tt.m, *tt.m, *tt.m}
			var (
				batch   []raft.Message
				scratch []byte
			)
			cycle := func() {
				p.push(msgs)
				batch = p.take(batch)
				for i := range batch {
					var err error
					if scratch, err = writeMessage(bw, &batch[i], scratch, 16<<20); err != nil {
						t.Fatal(err)
					}
				}
				select {
				case <-p.wake:
				default:
				}
			}
			cycle()
			cycle() // both queue arrays exist now
			if allocs := testing.AllocsPerRun(200, cycle); allocs != 0 {
				t.Fatalf("%v allocations per Send+write cycle, want 0", allocs)
			}
		})
	}
}
