package snap

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
)

// readBufferBytes is the payload reader's buffer: it keeps a consumer that
// reads in small pieces from making a system call per piece. Reads of at
// least this size bypass it.
const readBufferBytes = 256 << 10

// errReaderClosed is returned by Read after Close.
var errReaderClosed = errors.New("snap: read from a closed snapshot reader")

// reader streams a snapshot's payload and verifies its checksum at the end.
type reader struct {
	f          *os.File
	br         *bufio.Reader
	remaining  uint64 // payload bytes not yet returned
	crc        uint32 // crc32c of the payload returned so far
	trailerOff int64
	// err is sticky: io.EOF once the payload is read and verified, an
	// error wrapping ErrCorrupt if verification failed, or a read error.
	err error
}

func newReader(f *os.File, h header, hdrBytes int) *reader {
	// The payload is read with ReadAt through a section, so the file's
	// offset (moved by the header read) does not matter.
	sec := io.NewSectionReader(f, int64(hdrBytes), int64(h.payloadBytes))
	return &reader{
		f:          f,
		br:         bufio.NewReaderSize(sec, readBufferBytes),
		remaining:  h.payloadBytes,
		trailerOff: int64(hdrBytes) + int64(h.payloadBytes),
	}
}

func (r *reader) Read(p []byte) (int, error) {
	if r.err != nil {
		return 0, r.err
	}
	if r.remaining == 0 {
		r.err = r.verify()
		return 0, r.err
	}
	if uint64(len(p)) > r.remaining {
		p = p[:r.remaining]
	}
	n, err := r.br.Read(p)
	r.crc = crc32.Update(r.crc, castagnoli, p[:n])
	r.remaining -= uint64(n)
	if r.remaining == 0 {
		// Verify as soon as the last byte is out, so that a consumer that
		// stops at the payload size sees a mismatch on this very Read.
		if err := r.verify(); err != io.EOF {
			r.err = err
			return n, err
		}
		r.err = io.EOF
		return n, nil
	}
	if err != nil {
		if errors.Is(err, io.EOF) {
			// The file shrank after it was opened and checked.
			r.err = fmt.Errorf("%w: %w: payload ends %d bytes early", ErrCorrupt, io.ErrUnexpectedEOF, r.remaining)
		} else {
			r.err = fmt.Errorf("snap: reading payload: %w", err)
		}
		return n, r.err
	}
	return n, nil
}

// verify reads the trailer and compares it with the payload's checksum. It
// returns io.EOF if they match.
func (r *reader) verify() error {
	var trailer [trailerBytes]byte
	if _, err := r.f.ReadAt(trailer[:], r.trailerOff); err != nil {
		return readErr(err, "trailer")
	}
	if want := binary.BigEndian.Uint32(trailer[:]); r.crc != want {
		return fmt.Errorf("%w: payload checksum %#08x, stored %#08x (file %s)", ErrCorrupt, r.crc, want, r.f.Name())
	}
	return io.EOF
}

// Close closes the file. Reads after Close fail.
func (r *reader) Close() error {
	if r.err == nil || r.err == io.EOF {
		r.err = errReaderClosed
	}
	r.br = nil
	return r.f.Close()
}
