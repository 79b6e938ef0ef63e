package fault

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"sync"
	"testing"

	"github.com/raftbench/raftbench/raft"
)

type recorder struct {
	mu   sync.Mutex
	sent []uint64
}

func (r *recorder) Send(msgs []raft.Message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, m := range msgs {
		r.sent = append(r.sent, m.To)
	}
}
func (r *recorder) SendSnapshot(ctx context.Context, m raft.Message, body io.Reader) error {
	return nil
}
func (r *recorder) Close() error { return nil }

func TestCutAndMend(t *testing.T) {
	rec := &recorder{}
	tr := Wrap(rec)
	msgs := func() []raft.Message {
		return []raft.Message{{To: 2}, {To: 3}, {To: 4}}
	}
	tr.Send(msgs())
	tr.Cut(3, 4)
	tr.Send(msgs())
	if err := tr.SendSnapshot(context.Background(), raft.Message{To: 3}, bytes.NewReader(nil)); !errors.Is(err, ErrCut) {
		t.Errorf("snapshot over a cut link: %v, want ErrCut", err)
	}
	if err := tr.SendSnapshot(context.Background(), raft.Message{To: 2}, bytes.NewReader(nil)); err != nil {
		t.Errorf("snapshot over a live link: %v", err)
	}
	tr.Mend(3)
	tr.Send(msgs())
	tr.Mend()
	tr.Send(msgs())
	want := []uint64{2, 3, 4, 2, 2, 3, 2, 3, 4}
	if !slices.Equal(rec.sent, want) {
		t.Fatalf("delivered to %v, want %v", rec.sent, want)
	}
}
