package snap

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/raftbench/raftbench/raft"
)

// On-disk layout of a snapshot file (all integers big-endian):
//
//	offset        size  field
//	0             8     magic "RBSNAP01"
//	8             4     format version (1)
//	12            8     meta.Index
//	20            8     meta.Term
//	28            8     payload length in bytes
//	36            4     voter count n (at most MaxVoters)
//	40            8*n   voter ids
//	40+8n         4     crc32c of bytes [0, 40+8n)
//	44+8n         L     payload
//	44+8n+L       4     crc32c of the payload
//
// The payload length is unknown when the header is first written; Commit
// rewrites the header in place (same size) once the payload is complete,
// before the file is synced and renamed into place.
const (
	magic = "RBSNAP01"

	formatVersion = 1

	// headerFixedBytes is the header up to and including the voter count.
	headerFixedBytes = 40
	// crcBytes is the size of each checksum (header and trailer).
	crcBytes = 4
	// trailerBytes is what follows the payload.
	trailerBytes = crcBytes

	// MaxVoters bounds the voter list a header may hold, so that a corrupt
	// count cannot make a decoder allocate more than 80 KB.
	MaxVoters = 10000
)

// castagnoli is the CRC-32C table (hardware accelerated on amd64 and arm64).
var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// ErrCorrupt is wrapped by every error that reports a snapshot file whose
// bytes are not a valid snapshot: bad magic, unknown version, header checksum
// mismatch, a size that disagrees with the header, a name that disagrees with
// the header, or a payload checksum mismatch.
var ErrCorrupt = errors.New("snap: corrupt snapshot")

// header is the decoded header of a snapshot file.
type header struct {
	meta         raft.SnapshotMeta
	payloadBytes uint64
}

// headerSize returns the encoded size of a header with voters voters.
func headerSize(voters int) int { return headerFixedBytes + 8*voters + crcBytes }

// appendHeader appends h's encoding to b. It panics if h holds more than
// MaxVoters voters: callers check that first (Create returns an error).
func appendHeader(b []byte, h header) []byte {
	if len(h.meta.Voters) > MaxVoters {
		panic(fmt.Sprintf("snap: header with %d voters", len(h.meta.Voters)))
	}
	start := len(b)
	b = append(b, magic...)
	b = binary.BigEndian.AppendUint32(b, formatVersion)
	b = binary.BigEndian.AppendUint64(b, h.meta.Index)
	b = binary.BigEndian.AppendUint64(b, h.meta.Term)
	b = binary.BigEndian.AppendUint64(b, h.payloadBytes)
	b = binary.BigEndian.AppendUint32(b, uint32(len(h.meta.Voters)))
	for _, id := range h.meta.Voters {
		b = binary.BigEndian.AppendUint64(b, id)
	}
	return binary.BigEndian.AppendUint32(b, crc32.Checksum(b[start:], castagnoli))
}

// checkFixed validates the fixed part of a header (at least headerFixedBytes
// long) and returns the total header size it announces. It allocates
// nothing.
func checkFixed(b []byte) (int, error) {
	if string(b[:len(magic)]) != magic {
		return 0, fmt.Errorf("%w: bad magic %q", ErrCorrupt, b[:len(magic)])
	}
	if v := binary.BigEndian.Uint32(b[8:]); v != formatVersion {
		return 0, fmt.Errorf("%w: unknown format version %d", ErrCorrupt, v)
	}
	n := binary.BigEndian.Uint32(b[36:])
	if n > MaxVoters {
		return 0, fmt.Errorf("%w: %d voters, limit %d", ErrCorrupt, n, MaxVoters)
	}
	return headerSize(int(n)), nil
}

// decodeHeader decodes the header at the start of b and returns it with its
// encoded size. Any input that is not a whole valid header returns an error
// wrapping ErrCorrupt. The only allocation is the voter list, whose length is
// checked against MaxVoters and against len(b) first.
func decodeHeader(b []byte) (header, int, error) {
	if len(b) < headerFixedBytes {
		return header{}, 0, fmt.Errorf("%w: %d-byte header, want at least %d", ErrCorrupt, len(b), headerFixedBytes)
	}
	size, err := checkFixed(b)
	if err != nil {
		return header{}, 0, err
	}
	if len(b) < size {
		return header{}, 0, fmt.Errorf("%w: header of %d bytes truncated to %d", ErrCorrupt, size, len(b))
	}
	body := b[:size-crcBytes]
	if got, want := crc32.Checksum(body, castagnoli), binary.BigEndian.Uint32(b[size-crcBytes:]); got != want {
		return header{}, 0, fmt.Errorf("%w: header checksum %#08x, stored %#08x", ErrCorrupt, got, want)
	}
	h := header{
		meta: raft.SnapshotMeta{
			Index: binary.BigEndian.Uint64(b[12:]),
			Term:  binary.BigEndian.Uint64(b[20:]),
		},
		payloadBytes: binary.BigEndian.Uint64(b[28:]),
	}
	if n := (size - headerSize(0)) / 8; n > 0 {
		h.meta.Voters = make([]uint64, n)
		for i := range h.meta.Voters {
			h.meta.Voters[i] = binary.BigEndian.Uint64(b[headerFixedBytes+8*i:])
		}
	}
	return h, size, nil
}

// readHeader reads and decodes the header at the start of r, a file of
// fileBytes bytes, and checks that the file's size is exactly what the
// header announces. It never allocates more than the header's real size,
// which is bounded by the voter limit (MaxVoters) and by fileBytes.
func readHeader(r io.Reader, fileBytes int64) (header, int, error) {
	var fixed [headerFixedBytes]byte
	if _, err := io.ReadFull(r, fixed[:]); err != nil {
		return header{}, 0, readErr(err, "header")
	}
	size, err := checkFixed(fixed[:])
	if err != nil {
		return header{}, 0, err
	}
	if int64(size)+trailerBytes > fileBytes {
		return header{}, 0, fmt.Errorf("%w: %d-byte file cannot hold a %d-byte header and a trailer", ErrCorrupt, fileBytes, size)
	}
	buf := make([]byte, size)
	copy(buf, fixed[:])
	if _, err := io.ReadFull(r, buf[headerFixedBytes:]); err != nil {
		return header{}, 0, readErr(err, "header")
	}
	h, n, err := decodeHeader(buf)
	if err != nil {
		return header{}, 0, err
	}
	// fileBytes >= n+trailerBytes was checked above, so this cannot wrap.
	if avail := uint64(fileBytes) - uint64(n) - trailerBytes; h.payloadBytes != avail {
		return header{}, 0, fmt.Errorf("%w: header announces a %d-byte payload, file holds %d", ErrCorrupt, h.payloadBytes, avail)
	}
	return h, n, nil
}

// readErr turns an early end of input into ErrCorrupt (the file is shorter
// than its contents say) and wraps other errors as they are.
func readErr(err error, what string) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: %w in %s", ErrCorrupt, io.ErrUnexpectedEOF, what)
	}
	return fmt.Errorf("snap: reading %s: %w", what, err)
}

// fileName returns the name of the snapshot file for term and index. The
// fixed-width hex makes names sort by term, then index.
func fileName(term, index uint64) string {
	return fmt.Sprintf("%016x-%016x%s", term, index, snapSuffix)
}

const (
	snapSuffix = ".snap"
	// tmpSuffix ends the name of a snapshot still being written. Open
	// removes such files: they are what a crash leaves behind.
	tmpSuffix = ".snap.tmp"
	// nameBytes is the length of a snapshot file's name.
	nameBytes = 16 + 1 + 16 + len(snapSuffix)
)

// parseName parses a name made by fileName. It accepts exactly the names
// fileName produces (lower-case hex, fixed width), nothing else.
func parseName(name string) (term, index uint64, ok bool) {
	if len(name) != nameBytes || name[16] != '-' || name[33:] != snapSuffix {
		return 0, 0, false
	}
	for _, c := range name[:16] + name[17:33] {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return 0, 0, false
		}
	}
	term, err1 := strconv.ParseUint(name[:16], 16, 64)
	index, err2 := strconv.ParseUint(name[17:33], 16, 64)
	if err1 != nil || err2 != nil {
		return 0, 0, false
	}
	return term, index, true
}
