package bench

import (
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/anishathalye/porcupine"
)

// History records what clients asked and were answered, for a
// linearizability check (porcupine) after the run. It keeps about a fixed
// number of operations: the check's cost grows fast with history size,
// and a bounded history bounds memory too.
//
// A full history is cut at a time T, and what it keeps must still be a
// history of the same run: every write called before T (one in flight at
// T may have been read before T, and dropping it would turn that read
// into a false violation) and every read that returned by T. Reads still
// in flight at T and everything called after T are dropped: a kept read
// can only have seen writes called before it returned. So the history may
// pass max by the writes in flight at T, at most one per client.
type History struct {
	mu      sync.Mutex
	ops     []porcupine.Operation
	max     int
	cut     int64 // once full: the cut T (a stamp); 0 until then
	dropped int
	start   time.Time
}

// kvInput and kvOutput are the model's operations.
type kvInput struct {
	Write bool
	Key   string
	Value string
}

type kvOutput struct {
	Value string
	Found bool
}

// NewHistory keeps up to max operations.
func NewHistory(max int) *History { return &History{max: max, start: time.Now()} }

func (h *History) stamp(t time.Time) int64 { return int64(t.Sub(h.start)) }

// write records a write of value to key. A write whose outcome is unknown
// (an error: it may still have been applied) gets no return time: the
// checker may place it anywhere after its call.
func (h *History) write(client uint64, key, value []byte, call, ret time.Time, ok bool) {
	end := int64(math.MaxInt64)
	if ok {
		end = h.stamp(ret)
	}
	h.add(porcupine.Operation{ClientId: int(client - 1), Input: kvInput{Write: true, Key: string(key), Value: string(value)},
		Call: h.stamp(call), Return: end, Output: kvOutput{}})
}

// read records a successful read (a failed read had no effect).
func (h *History) read(client uint64, key, value []byte, found bool, call, ret time.Time) {
	h.add(porcupine.Operation{ClientId: int(client - 1), Input: kvInput{Key: string(key)},
		Call: h.stamp(call), Return: h.stamp(ret), Output: kvOutput{Value: string(value), Found: found}})
}

func (h *History) add(op porcupine.Operation) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cut == 0 && len(h.ops) >= h.max {
		// Every operation recorded so far returned before now.
		h.cut = max(h.stamp(time.Now()), 1)
	}
	if h.cut != 0 && (op.Call >= h.cut || (!op.Input.(kvInput).Write && op.Return > h.cut)) {
		h.dropped++
		return
	}
	h.ops = append(h.ops, op)
}

// Len is the number of operations recorded; Dropped how many did not fit.
func (h *History) Len() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.ops)
}

// CheckResult is the outcome of a linearizability check.
type CheckResult struct {
	Ops        int
	Dropped    int
	Linearized bool // false: a violation, or the checker timed out (Unknown)
	Unknown    bool // the checker ran out of time
	info       porcupine.LinearizationInfo
}

// Check runs porcupine over the history (partitioned by key). It stops
// recording first: a history must not change while it is checked.
func (h *History) Check(timeout time.Duration) CheckResult {
	h.mu.Lock()
	ops := h.ops
	h.max, h.cut = 0, math.MinInt64 // no more records
	dropped := h.dropped
	h.mu.Unlock()
	res, info := porcupine.CheckOperationsVerbose(KVModel, ops, timeout)
	return CheckResult{Ops: len(ops), Dropped: dropped, Linearized: res == porcupine.Ok, Unknown: res == porcupine.Unknown, info: info}
}

// Visualize writes porcupine's HTML view of the checked history.
func (r CheckResult) Visualize(path string) error {
	return porcupine.VisualizePath(KVModel, r.info, path)
}

// KVModel is the sequential specification of the KV store: per key, a
// value that writes set and reads return.
var KVModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		byKey := map[string][]porcupine.Operation{}
		for _, op := range history {
			k := op.Input.(kvInput).Key
			byKey[k] = append(byKey[k], op)
		}
		keys := make([]string, 0, len(byKey))
		for k := range byKey {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		out := make([][]porcupine.Operation, 0, len(keys))
		for _, k := range keys {
			out = append(out, byKey[k])
		}
		return out
	},
	Init: func() any { return kvOutput{} }, // per key: its value and whether it exists
	Step: func(state, input, output any) (bool, any) {
		st, in, out := state.(kvOutput), input.(kvInput), output.(kvOutput)
		if in.Write {
			return true, kvOutput{Value: in.Value, Found: true}
		}
		return out == st, st
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(kvInput), output.(kvOutput)
		if in.Write {
			return fmt.Sprintf("put(%s, %s)", in.Key, in.Value)
		}
		if !out.Found {
			return fmt.Sprintf("get(%s) -> not found", in.Key)
		}
		return fmt.Sprintf("get(%s) -> %s", in.Key, out.Value)
	},
	DescribeState: func(state any) string {
		st := state.(kvOutput)
		if !st.Found {
			return "(none)"
		}
		return st.Value
	},
}
