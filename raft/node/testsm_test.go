package node

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"sync"
)

// listSM is a test state machine: the list of applied payloads. It only
// ever appends, and elements never change, so a view is just the slice
// header: an O(1) copy-on-write snapshot.
type listSM struct {
	mu   sync.Mutex
	list [][]byte
}

func (s *listSM) Apply(index uint64, data []byte) any {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.list = append(s.list, data)
	return len(s.list)
}

func (s *listSM) Snapshot() (SnapshotView, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return listView(s.list[:len(s.list):len(s.list)]), nil
}

func (s *listSM) Restore(r io.Reader) error {
	br := bufio.NewReader(r)
	var list [][]byte
	for {
		n, err := binary.ReadUvarint(br)
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if n > 1<<20 {
			return fmt.Errorf("entry of %d bytes", n)
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			return err
		}
		list = append(list, b)
	}
	s.mu.Lock()
	s.list = list
	s.mu.Unlock()
	return nil
}

func (s *listSM) items() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.list[:len(s.list):len(s.list)]
}

type listView [][]byte

func (v listView) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	var n int64
	var hdr [binary.MaxVarintLen64]byte
	for _, b := range v {
		k := binary.PutUvarint(hdr[:], uint64(len(b)))
		bw.Write(hdr[:k])
		bw.Write(b)
		n += int64(k + len(b))
	}
	return n, bw.Flush()
}

func (v listView) Release() {}
