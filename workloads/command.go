package workloads

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Op codes of a Command.
type OpCode uint8

const (
	OpPut    OpCode = 1 // set Key to Value
	OpGet    OpCode = 2 // read Key through the log (linearizable)
	OpDelete OpCode = 3 // remove Key
)

func (o OpCode) String() string {
	switch o {
	case OpPut:
		return "put"
	case OpGet:
		return "get"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("op(%d)", uint8(o))
}

// Limits of the command format (and of the snapshot format, which stores
// the same keys and values). They bound every allocation a decoder makes.
const (
	MaxKeyBytes   = 4 << 10 // 4 KiB
	MaxValueBytes = 4 << 20 // 4 MiB
)

const (
	commandVersion     = 1
	commandHeaderBytes = 26
)

// ErrMalformed is wrapped by every error DecodeCommand returns.
var ErrMalformed = errors.New("workloads: malformed command")

// Command is one decoded log entry of the KV state machine. After
// DecodeCommand, Key and Value alias the decoded buffer.
type Command struct {
	Op       OpCode
	ClientID uint64 // 0: no session (never deduplicated)
	Seq      uint64 // the client's sequence number
	Key      []byte
	Value    []byte // put only; empty otherwise
}

// EncodedLen is the size of c once encoded.
func (c Command) EncodedLen() int { return commandHeaderBytes + len(c.Key) + len(c.Value) }

// AppendCommand appends the encoding of c to dst and returns the extended
// slice. It does not validate c: DecodeCommand rejects what is invalid, so
// the state machine answers it with an error result.
func AppendCommand(dst []byte, c Command) []byte {
	var h [commandHeaderBytes]byte
	h[0] = commandVersion
	h[1] = byte(c.Op)
	binary.LittleEndian.PutUint64(h[2:], c.ClientID)
	binary.LittleEndian.PutUint64(h[10:], c.Seq)
	binary.LittleEndian.PutUint32(h[18:], uint32(len(c.Key)))
	binary.LittleEndian.PutUint32(h[22:], uint32(len(c.Value)))
	dst = append(dst, h[:]...)
	dst = append(dst, c.Key...)
	return append(dst, c.Value...)
}

// EncodePut returns a new encoded put command.
func EncodePut(clientID, seq uint64, key, value []byte) []byte {
	c := Command{Op: OpPut, ClientID: clientID, Seq: seq, Key: key, Value: value}
	return AppendCommand(make([]byte, 0, c.EncodedLen()), c)
}

// EncodeGet returns a new encoded get command.
func EncodeGet(clientID, seq uint64, key []byte) []byte {
	c := Command{Op: OpGet, ClientID: clientID, Seq: seq, Key: key}
	return AppendCommand(make([]byte, 0, c.EncodedLen()), c)
}

// EncodeDelete returns a new encoded delete command.
func EncodeDelete(clientID, seq uint64, key []byte) []byte {
	c := Command{Op: OpDelete, ClientID: clientID, Seq: seq, Key: key}
	return AppendCommand(make([]byte, 0, c.EncodedLen()), c)
}

// DecodeCommand decodes one command. It never allocates: Key and Value
// alias data. Any input that is not exactly one valid command returns an
// error wrapping ErrMalformed.
func DecodeCommand(data []byte) (Command, error) {
	if len(data) < commandHeaderBytes {
		return Command{}, fmt.Errorf("%w: %d bytes, header needs %d", ErrMalformed, len(data), commandHeaderBytes)
	}
	if data[0] != commandVersion {
		return Command{}, fmt.Errorf("%w: version %d, want %d", ErrMalformed, data[0], commandVersion)
	}
	c := Command{
		Op:       OpCode(data[1]),
		ClientID: binary.LittleEndian.Uint64(data[2:]),
		Seq:      binary.LittleEndian.Uint64(data[10:]),
	}
	keyBytes := uint64(binary.LittleEndian.Uint32(data[18:]))
	valueBytes := uint64(binary.LittleEndian.Uint32(data[22:]))
	switch {
	case c.Op != OpPut && c.Op != OpGet && c.Op != OpDelete:
		return Command{}, fmt.Errorf("%w: unknown op %d", ErrMalformed, data[1])
	case keyBytes == 0 || keyBytes > MaxKeyBytes:
		return Command{}, fmt.Errorf("%w: key length %d, want 1..%d", ErrMalformed, keyBytes, MaxKeyBytes)
	case valueBytes > MaxValueBytes:
		return Command{}, fmt.Errorf("%w: value length %d, max %d", ErrMalformed, valueBytes, MaxValueBytes)
	case c.Op != OpPut && valueBytes != 0:
		return Command{}, fmt.Errorf("%w: %v with a %d-byte value", ErrMalformed, c.Op, valueBytes)
	case uint64(len(data)) != commandHeaderBytes+keyBytes+valueBytes:
		return Command{}, fmt.Errorf("%w: %d bytes, header says %d", ErrMalformed, len(data), commandHeaderBytes+keyBytes+valueBytes)
	}
	end := commandHeaderBytes + int(keyBytes)
	c.Key = data[commandHeaderBytes:end:end]
	c.Value = data[end:len(data):len(data)]
	return c, nil
}
