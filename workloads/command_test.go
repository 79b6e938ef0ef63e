package workloads

import (
	"bytes"
	"errors"
	"testing"
)

func TestCommandRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Command
	}{
		{"put", EncodePut(7, 9, []byte("k1"), []byte("v1")), Command{Op: OpPut, ClientID: 7, Seq: 9, Key: []byte("k1"), Value: []byte("v1")}},
		{"put empty value", EncodePut(0, 0, []byte("k"), nil), Command{Op: OpPut, Key: []byte("k"), Value: []byte{}}},
		{"get", EncodeGet(1, 2, []byte("key")), Command{Op: OpGet, ClientID: 1, Seq: 2, Key: []byte("key"), Value: []byte{}}},
		{"delete", EncodeDelete(^uint64(0), ^uint64(0), []byte("x")), Command{Op: OpDelete, ClientID: ^uint64(0), Seq: ^uint64(0), Key: []byte("x"), Value: []byte{}}},
		{"max key", EncodeGet(1, 1, bytes.Repeat([]byte("a"), MaxKeyBytes)), Command{Op: OpGet, ClientID: 1, Seq: 1, Key: bytes.Repeat([]byte("a"), MaxKeyBytes), Value: []byte{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeCommand(tt.data)
			if err != nil {
				t.Fatalf("DecodeCommand: %v", err)
			}
			if got.Op != tt.want.Op || got.ClientID != tt.want.ClientID || got.Seq != tt.want.Seq ||
				!bytes.Equal(got.Key, tt.want.Key) || !bytes.Equal(got.Value, tt.want.Value) {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			if n := tt.want.EncodedLen(); n != len(tt.data) {
				t.Fatalf("EncodedLen %d, encoding has %d bytes", n, len(tt.data))
			}
		})
	}
}

func TestDecodeCommandMalformed(t *testing.T) {
	valid := EncodePut(1, 1, []byte("key"), []byte("value"))
	with := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(valid)) }
	tests := []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"short header", valid[:commandHeaderBytes-1]},
		{"truncated body", valid[:len(valid)-1]},
		{"trailing byte", append(bytes.Clone(valid), 0)},
		{"version", with(func(b []byte) []byte { b[0] = 2; return b })},
		{"op 0", with(func(b []byte) []byte { b[1] = 0; return b })},
		{"op 4", with(func(b []byte) []byte { b[1] = 4; return b })},
		{"empty key", AppendCommand(nil, Command{Op: OpGet})},
		{"key too long", EncodeGet(1, 1, make([]byte, MaxKeyBytes+1))},
		{"value too long", EncodePut(1, 1, []byte("k"), make([]byte, MaxValueBytes+1))},
		{"get with value", AppendCommand(nil, Command{Op: OpGet, Key: []byte("k"), Value: []byte("v")})},
		{"delete with value", AppendCommand(nil, Command{Op: OpDelete, Key: []byte("k"), Value: []byte("v")})},
		{"huge lengths", with(func(b []byte) []byte {
			copy(b[18:26], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
			return b
		})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := DecodeCommand(tt.data)
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("DecodeCommand: got (%+v, %v), want an error wrapping ErrMalformed", c, err)
			}
		})
	}
}

func TestDecodeCommandDoesNotAllocate(t *testing.T) {
	data := EncodePut(1, 1, []byte("key"), make([]byte, 128))
	if n := testing.AllocsPerRun(100, func() { _, _ = DecodeCommand(data) }); n != 0 {
		t.Fatalf("DecodeCommand allocates %v times, want 0", n)
	}
}

func FuzzDecodeCommand(f *testing.F) {
	f.Add(EncodePut(1, 2, []byte("k"), []byte("v")))
	f.Add(EncodeGet(0, 0, []byte("key")))
	f.Add(EncodeDelete(3, 4, []byte("kkkk")))
	f.Add([]byte{})
	f.Add(make([]byte, commandHeaderBytes))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := DecodeCommand(data)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		// A decoded command re-encodes to the same bytes.
		if again := AppendCommand(nil, c); !bytes.Equal(again, data) {
			t.Fatalf("re-encoding gives %x, want %x", again, data)
		}
		// And the KV applies it without panicking.
		kv := NewKV(KVConfig{})
		if res := kv.Apply(1, data).(*Result); res.Err != nil {
			t.Fatalf("Apply of a valid command: %v", res.Err)
		}
	})
}
