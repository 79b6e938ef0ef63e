package wal

import (
	"bufio"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"hash/crc64"
	"math/rand/v2"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/raftbench/raftbench/raft"
)

var (
	flagKills     = flag.Int("wal.kills", 20, "how many times TestCrash kills the writing child (make crash: 500)")
	flagCrashSeed = flag.Uint64("wal.seed", 0, "seed of TestCrash's operations and kill delays (0: from the clock)")
)

// Environment of the child process.
const (
	crashDirEnv     = "WAL_CRASH_DIR"
	crashSeedEnv    = "WAL_CRASH_SEED"
	crashSegmentEnv = "WAL_CRASH_SEGMENT"
)

// TestCrash runs a child process (this test binary, TestCrashChild) that
// appends to a WAL, kills it with SIGKILL after a random delay, recovers
// the WAL and checks it, again and again on the same directory.
//
// Before each Sync the child prints the plan of the write (snapshot marker,
// entries, hard state); after the Sync returns it prints an
// acknowledgement. The recovered state must then be the state after the
// last acknowledged write, or that state plus a prefix (in record order) of
// the one write that was under way: every acknowledged append is present
// and intact, nothing unacknowledged appears out of order, and every entry
// carries exactly the data its term and index determine (no garbage).
//
// SIGKILL loses what the process had not handed to the kernel, not what
// the kernel had not written to the disk; damage from power loss is
// covered by TestTornTail and TestCorruption.
func TestCrash(t *testing.T) {
	seed := *flagCrashSeed
	if seed == 0 {
		seed = uint64(time.Now().UnixNano())
	}
	t.Logf("seed %d (replay the same operations and delays with -wal.seed=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	dir := t.TempDir()
	var (
		base  crashModel // what the last recovery returned
		stats struct{ pending, pendingWhole, pendingPart, torn, acked, maxLog int }
	)
	for kill := 0; kill < *flagKills; kill++ {
		childSeed := rng.Uint64()
		segBytes := []int64{4 << 10, 32 << 10, 256 << 10, 4 << 20}[rng.IntN(4)]
		delay := time.Duration(rng.Int64N(int64(60 * time.Millisecond)))
		if rng.IntN(4) == 0 {
			delay = time.Duration(rng.Int64N(int64(400 * time.Millisecond)))
		}
		fail := func(format string, args ...any) {
			t.Helper()
			t.Fatalf("kill %d (seed %d, child seed %d, delay %v): %s", kill, seed, childSeed, delay, fmt.Sprintf(format, args...))
		}
		out, err := runCrashChild(dir, childSeed, segBytes, delay)
		if err != nil {
			fail("%v", err)
		}
		run, err := parseCrashOutput(out)
		if err != nil {
			fail("%v", err)
		}
		if run.opened && run.openFP != base.fingerprint() {
			fail("the child recovered a different state than the parent had: %x, want %x", run.openFP, base.fingerprint())
		}

		w, got, err := Open(dir, Options{SegmentBytes: segBytes})
		if err != nil {
			fail("recovery: %v", err)
		}
		if torn := w.Recovery().TornTail; torn != nil {
			stats.torn++
		}
		if err := checkCrashEntries(got); err != nil {
			fail("%v", err)
		}
		acked := base.clone()
		for _, p := range run.acked {
			acked.applyAll(p)
		}
		durable, err := matchRecovered(acked, run.pending, got)
		if err != nil {
			fail("%v\nacked %d writes; recovered %s", err, len(run.acked), describe(got))
		}
		if run.pending != nil {
			stats.pending++
			switch durable {
			case 0:
			case len(run.pending.ops(acked)):
				stats.pendingWhole++
			default:
				stats.pendingPart++
			}
		}
		stats.acked += len(run.acked)
		stats.maxLog = max(stats.maxLog, len(got.Entries))
		if err := w.Close(); err != nil {
			fail("close: %v", err)
		}
		base = modelOf(got)
	}
	t.Logf("%d kills: %d acknowledged writes; %d kills during a write, whose write was recovered whole %d times and in part %d times; %d torn tails cut; longest log %d entries",
		*flagKills, stats.acked, stats.pending, stats.pendingWhole, stats.pendingPart, stats.torn, stats.maxLog)
}

// TestCrashChild is the process TestCrash kills. It does nothing unless
// run by TestCrash.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("run by TestCrash")
	}
	seed, err1 := strconv.ParseUint(os.Getenv(crashSeedEnv), 10, 64)
	segBytes, err2 := strconv.ParseInt(os.Getenv(crashSegmentEnv), 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		t.Fatal(err)
	}
	w, st, err := Open(dir, Options{SegmentBytes: segBytes})
	if err != nil {
		t.Fatalf("open: %v", err)
	}
	m := modelOf(st)
	// One write call per line: a line reaches the parent whole or not at
	// all, whenever the kill comes.
	say := func(format string, args ...any) {
		if _, err := os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n"); err != nil {
			t.Fatal(err)
		}
	}
	say("open %d", m.fingerprint())
	rng := rand.New(rand.NewPCG(seed, 0xc41d))
	deadline := time.Now().Add(30 * time.Second) // the parent kills long before
	for k := 0; time.Now().Before(deadline); k++ {
		p := m.nextPlan(rng)
		say("plan %d %s", k, p)
		if p.snapIndex > 0 {
			if err := w.SaveSnapshot(p.snapMeta()); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Save(p.hs, p.entries()); err != nil {
			t.Fatal(err)
		}
		if err := w.Sync(); err != nil {
			t.Fatal(err)
		}
		say("ack %d", k)
		m.applyAll(p)
		if w.LastIndex() != m.last() {
			t.Fatalf("LastIndex %d, model %d", w.LastIndex(), m.last())
		}
		if p.snapIndex > 0 && rng.IntN(3) > 0 {
			if err := w.Compact(p.snapIndex); err != nil {
				t.Fatal(err)
			}
		}
	}
	t.Fatal("not killed")
}

func runCrashChild(dir string, seed uint64, segBytes int64, delay time.Duration) ([]string, error) {
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		crashDirEnv+"="+dir,
		crashSeedEnv+"="+strconv.FormatUint(seed, 10),
		crashSegmentEnv+"="+strconv.FormatInt(segBytes, 10))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	lines := make(chan []string)
	go func() {
		var ls []string
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ls = append(ls, sc.Text())
		}
		lines <- ls
	}()
	time.Sleep(delay)
	cmd.Process.Kill() // SIGKILL
	out := <-lines
	err = cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || !ee.Sys().(syscall.WaitStatus).Signaled() || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
		return nil, fmt.Errorf("child ended by itself (%v):\n%s\n%s", err, strings.Join(out, "\n"), stderr.String())
	}
	return out, nil
}

type crashRun struct {
	opened  bool
	openFP  uint64
	acked   []crashPlan
	pending *crashPlan // planned, not acknowledged
}

func parseCrashOutput(lines []string) (crashRun, error) {
	var run crashRun
	for _, line := range lines {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		switch f[0] {
		case "open":
			fp, err := strconv.ParseUint(f[1], 10, 64)
			if err != nil {
				return run, fmt.Errorf("bad line %q", line)
			}
			run.opened, run.openFP = true, fp
		case "plan":
			if run.pending != nil {
				return run, fmt.Errorf("plan %q while the previous one is not acknowledged", line)
			}
			p, err := parsePlan(f[2:])
			if err != nil {
				return run, fmt.Errorf("bad line %q: %v", line, err)
			}
			run.pending = &p
		case "ack":
			if run.pending == nil {
				return run, fmt.Errorf("ack %q without a plan", line)
			}
			run.acked = append(run.acked, *run.pending)
			run.pending = nil
		}
	}
	return run, nil
}

// crashPlan is one write of the child: a snapshot marker, entries
// first..first+count-1 of term, a hard state; each optional.
type crashPlan struct {
	snapIndex, snapTerm uint64
	first, count, term  uint64
	hs                  raft.HardState
}

func (p crashPlan) String() string {
	return fmt.Sprintf("%d %d %d %d %d %d %d %d", p.snapIndex, p.snapTerm, p.first, p.count, p.term, p.hs.Term, p.hs.Vote, p.hs.Commit)
}

func parsePlan(f []string) (crashPlan, error) {
	var v [8]uint64
	if len(f) != len(v) {
		return crashPlan{}, errors.New("want 8 numbers")
	}
	for i := range v {
		n, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			return crashPlan{}, err
		}
		v[i] = n
	}
	return crashPlan{v[0], v[1], v[2], v[3], v[4], raft.HardState{Term: v[5], Vote: v[6], Commit: v[7]}}, nil
}

func (p crashPlan) snapMeta() raft.SnapshotMeta {
	return raft.SnapshotMeta{Index: p.snapIndex, Term: p.snapTerm, Voters: crashVoters(p.snapIndex)}
}

func (p crashPlan) entries() []raft.Entry {
	var ents []raft.Entry
	for i := range p.count {
		ents = append(ents, crashEntry(p.term, p.first+i))
	}
	return ents
}

// crashEntry is the entry of a term and index: its data is a function of
// both, so recovery can tell garbage from the real thing.
func crashEntry(term, index uint64) raft.Entry {
	size := int((term*7919 + index*104729) % 700)
	if size < 60 {
		return raft.Entry{Term: term, Index: index, Type: raft.EntryNoop}
	}
	return raft.Entry{Term: term, Index: index, Type: raft.EntryNormal, Data: entryData(term, index, size)}
}

func crashVoters(index uint64) []uint64 {
	if index%2 == 0 {
		return []uint64{1, 2, 3}
	}
	return []uint64{1, 2, 3, 4, 5}
}

// checkCrashEntries checks that every recovered entry and the snapshot
// carry what their term and index determine.
func checkCrashEntries(st raft.State) error {
	if st.Snapshot.Index > 0 && !slices.Equal(st.Snapshot.Voters, crashVoters(st.Snapshot.Index)) {
		return fmt.Errorf("snapshot %d has voters %v", st.Snapshot.Index, st.Snapshot.Voters)
	}
	for i, e := range st.Entries {
		want := crashEntry(e.Term, e.Index)
		if e.Index != st.Snapshot.Index+1+uint64(i) || e.Type != want.Type || !bytes.Equal(e.Data, want.Data) {
			return fmt.Errorf("garbage: entry %d (index %d, term %d, type %v, %d bytes) is not what was written",
				i, e.Index, e.Term, e.Type, len(e.Data))
		}
	}
	return nil
}

// crashModel is the log as the test understands it: terms of the entries
// after the snapshot.
type crashModel struct {
	hs        raft.HardState
	snapIndex uint64
	snapTerm  uint64
	terms     []uint64 // terms[i] is the term of entry snapIndex+1+i
}

func modelOf(st raft.State) crashModel {
	m := crashModel{hs: st.HardState, snapIndex: st.Snapshot.Index, snapTerm: st.Snapshot.Term}
	for _, e := range st.Entries {
		m.terms = append(m.terms, e.Term)
	}
	return m
}

func (m *crashModel) clone() crashModel {
	c := *m
	c.terms = slices.Clone(m.terms)
	return c
}

func (m *crashModel) last() uint64 { return m.snapIndex + uint64(len(m.terms)) }

func (m *crashModel) termAt(i uint64) uint64 { return m.terms[i-m.snapIndex-1] }

func (m *crashModel) currentTerm() uint64 {
	t := max(m.hs.Term, m.snapTerm, 1)
	if n := len(m.terms); n > 0 {
		t = max(t, m.terms[n-1])
	}
	return t
}

func (m *crashModel) fingerprint() uint64 {
	h := crc64.New(crc64.MakeTable(crc64.ECMA))
	fmt.Fprintf(h, "%+v %d %d %v|", m.hs, m.snapIndex, m.snapTerm, crashVoters(m.snapIndex))
	for i, t := range m.terms {
		e := crashEntry(t, m.snapIndex+1+uint64(i))
		fmt.Fprintf(h, "%d %d %d %x|", e.Index, e.Term, e.Type, e.Data)
	}
	return h.Sum64()
}

// crashOp is one record of a write, as the test understands its effect.
type crashOp struct {
	kind  byte // 's' snapshot marker, 't' truncate, 'e' entry, 'h' hard state
	index uint64
	term  uint64
	hs    raft.HardState
}

// ops returns the records the WAL writes for p, applied to m, in order.
func (p crashPlan) ops(m crashModel) []crashOp {
	var ops []crashOp
	last := m.last()
	if p.snapIndex > 0 {
		ops = append(ops, crashOp{kind: 's', index: p.snapIndex, term: p.snapTerm})
		agrees := p.snapIndex < last && m.termAt(p.snapIndex) == p.snapTerm
		if !agrees && p.snapIndex < last {
			ops = append(ops, crashOp{kind: 't', index: p.snapIndex + 1})
		}
		if !agrees {
			last = p.snapIndex
		}
	}
	if p.count > 0 && p.first <= last {
		ops = append(ops, crashOp{kind: 't', index: p.first})
	}
	for i := range p.count {
		ops = append(ops, crashOp{kind: 'e', index: p.first + i, term: p.term})
	}
	if p.hs != (raft.HardState{}) {
		ops = append(ops, crashOp{kind: 'h', hs: p.hs})
	}
	return ops
}

func (m *crashModel) apply(op crashOp) {
	switch op.kind {
	case 's':
		if op.index >= m.last() {
			m.terms = m.terms[:0]
		} else {
			m.terms = append(m.terms[:0], m.terms[op.index-m.snapIndex:]...)
		}
		m.snapIndex, m.snapTerm = op.index, op.term
	case 't':
		m.terms = m.terms[:op.index-m.snapIndex-1]
	case 'e':
		if op.index != m.last()+1 {
			panic(fmt.Sprintf("model: entry %d after %d", op.index, m.last()))
		}
		m.terms = append(m.terms, op.term)
	case 'h':
		m.hs = op.hs
	}
}

func (m *crashModel) applyAll(p crashPlan) {
	for _, op := range p.ops(*m) {
		m.apply(op)
	}
}

func (m *crashModel) equal(st raft.State) bool {
	if m.hs != st.HardState || m.snapIndex != st.Snapshot.Index || m.snapTerm != st.Snapshot.Term || len(m.terms) != len(st.Entries) {
		return false
	}
	for i, e := range st.Entries {
		if e.Term != m.terms[i] {
			return false
		}
	}
	return true
}

// matchRecovered checks that got is acked, or acked plus a prefix of the
// pending write's records; it returns how many of those records it holds.
func matchRecovered(acked crashModel, pending *crashPlan, got raft.State) (int, error) {
	if acked.equal(got) {
		return 0, nil
	}
	if pending != nil {
		m := acked.clone()
		for i, op := range pending.ops(acked) {
			m.apply(op)
			if m.equal(got) {
				return i + 1, nil
			}
		}
	}
	want := "none"
	if pending != nil {
		want = pending.String()
	}
	return 0, fmt.Errorf("recovered state is neither the acknowledged one (%s) nor a prefix of the pending write (%s)",
		acked.describe(), want)
}

func (m *crashModel) describe() string {
	return fmt.Sprintf("hs %+v, snapshot %d/%d, entries %d..%d", m.hs, m.snapIndex, m.snapTerm, m.snapIndex+1, m.last())
}

func describe(st raft.State) string {
	m := modelOf(st)
	return m.describe()
}

// nextPlan draws the child's next write: mostly appends in the current
// term, sometimes a conflicting suffix replaced in a new term, a local
// snapshot marker or one received from a leader.
func (m *crashModel) nextPlan(rng *rand.Rand) crashPlan {
	var p crashPlan
	term := m.currentTerm()
	after := m.clone()
	switch r := rng.IntN(100); {
	case r < 6 && m.last() > m.snapIndex:
		p.snapIndex = m.snapIndex + 1 + rng.Uint64N(m.last()-m.snapIndex)
		p.snapTerm = m.termAt(p.snapIndex)
	case r < 8:
		term++
		p.snapIndex = m.snapIndex + 1 + rng.Uint64N(m.last()-m.snapIndex+5)
		p.snapTerm = term
	}
	if p.snapIndex > 0 {
		for _, op := range p.ops(*m) {
			after.apply(op)
		}
	}
	p.first = after.last() + 1
	if rng.IntN(100) < 7 && after.last() > after.snapIndex {
		term++
		p.first -= 1 + rng.Uint64N(min(after.last()-after.snapIndex, 20))
	}
	switch r := rng.IntN(100); {
	case r < 5 && p.first == after.last()+1:
		p.count = 0
	case r < 15:
		p.count = 1 + rng.Uint64N(256)
	default:
		p.count = 1 + rng.Uint64N(8)
	}
	p.term = term
	if p.count == 0 || term != m.currentTerm() || rng.IntN(2) == 0 {
		p.hs = raft.HardState{Term: term, Vote: 1 + rng.Uint64N(3), Commit: rng.Uint64N(p.first + p.count)}
	}
	return p
}
