package raft

import (
	"errors"
	"math/rand/v2"
	"testing"
	"time"
)

// FuzzStep feeds a core arbitrary sequences of inputs: peer messages with
// arbitrary fields (malformed ones included), ticks, proposals, campaigns,
// compactions and snapshot reports, with a driver that follows the Ready
// contract. Whatever the input, the core must not panic, must refuse bad
// messages with ErrProtocol, and must keep its safety invariants: the term
// never decreases, one vote per term, the commit index never decreases nor
// passes the log, committed entries never change, and only committed,
// entries are applied, in order.
func FuzzStep(f *testing.F) {
	f.Add([]byte{0, 2, 1, 3, 2, 1, 0, 0, 0, 0, 0, 0})
	f.Add([]byte{1, 3, 0, 2, 4, 2, 1, 1, 0, 1, 5, 9, 2, 2, 3, 0, 1, 1, 1, 0, 0})
	f.Add([]byte{3, 0, 40, 2, 6, 3, 1, 0, 0, 0, 2, 3, 2, 1, 1, 2, 1, 2, 7, 7, 7})
	f.Add([]byte{2, 3, 0, 2, 1, 2, 1, 1, 2, 4, 3, 1, 0, 2, 2, 3, 1, 0, 5, 1, 1, 2, 9, 9})
	f.Fuzz(func(t *testing.T, data []byte) {
		in := fuzzInput{data: data}
		opts := in.next()
		cfg := Config{
			ID: 1, Voters: []uint64{1, 2, 3},
			ElectionTimeoutMin: 10 * time.Millisecond, ElectionTimeoutMax: 20 * time.Millisecond,
			PreVote: opts&1 != 0, CheckQuorum: opts&2 != 0,
			MaxInflightMsgs: 1 + int(opts>>2&3), MaxEntriesPerMsg: 1 + int(opts>>4&3),
			Rand: rand.New(rand.NewPCG(uint64(opts), 1)),
		}
		r, err := New(cfg, State{}, 0)
		if err != nil {
			t.Fatal(err)
		}
		var (
			now       time.Duration
			lastTerm  uint64
			votes     = map[uint64]uint64{} // term -> vote
			commit    uint64
			committed = map[uint64]uint64{} // index -> term
			applied   uint64
			pending   []PersistMark // writes not yet reported durable
		)
		check := func(what string) {
			st := r.Status()
			if st.Term < lastTerm {
				t.Fatalf("%s: term went from %d to %d", what, lastTerm, st.Term)
			}
			lastTerm = st.Term
			if st.Vote != None {
				if v, ok := votes[st.Term]; ok && v != st.Vote {
					t.Fatalf("%s: voted for %d and %d in term %d", what, v, st.Vote, st.Term)
				}
				votes[st.Term] = st.Vote
			}
			if st.Commit < commit || st.Commit > st.LastIndex {
				t.Fatalf("%s: commit %d (was %d, last index %d)", what, st.Commit, commit, st.LastIndex)
			}
			commit = st.Commit
			first := r.FirstIndex()
			for i := max(first, 1); i <= st.Commit; i++ {
				tm, _ := r.LogTerm(i)
				if old, ok := committed[i]; ok && old != tm {
					t.Fatalf("%s: committed entry %d changed term %d -> %d", what, i, old, tm)
				}
				committed[i] = tm
			}
		}
		drive := func() {
			for rounds := 0; r.HasReady(); rounds++ {
				if rounds > 100 {
					t.Fatalf("HasReady still true after %d Readies: %+v", rounds, r.Status())
				}
				rd := r.Ready()
				if rd.MustPersist() {
					pending = append(pending, rd.Mark)
				}
				for _, e := range rd.CommittedEntries {
					if e.Index != applied+1 {
						t.Fatalf("applied %d after %d", e.Index, applied)
					}
					if e.Index > r.Status().Commit {
						t.Fatalf("applied %d beyond commit %d", e.Index, r.Status().Commit)
					}
					applied = e.Index
				}
				if rd.Snapshot != nil {
					applied = max(applied, rd.Snapshot.Meta.Index)
				}
			}
		}
		for !in.done() {
			op := in.next() % 8
			switch op {
			case 0: // time passes
				now += time.Duration(in.next()) * time.Millisecond / 4
				r.Tick(now)
			case 1: // the disk reports the oldest pending write
				if len(pending) > 0 {
					r.Persisted(now, pending[0])
					pending = pending[1:]
				}
			case 2, 3, 4: // a peer's message
				m := in.message(r.Term())
				if err := r.Step(now, m); err != nil && !errors.Is(err, ErrProtocol) {
					t.Fatalf("Step(%v) = %v, want nil or ErrProtocol", m, err)
				}
			case 5:
				_, _, err := r.Propose(now, []byte{in.next()}, []byte{in.next()})
				if err != nil && !errors.Is(err, ErrNotLeader) {
					t.Fatalf("Propose = %v", err)
				}
			case 6:
				r.Campaign(now)
			case 7:
				if in.next()%2 == 0 {
					_ = r.Compact(applied)
				} else {
					r.ReportSnapshot(now, 2+uint64(in.next()%2), in.next()%2 == 0)
				}
			}
			drive()
			check([]string{"tick", "persisted", "step", "step", "step", "propose", "campaign", "compact"}[op])
		}
	})
}

type fuzzInput struct {
	data []byte
	pos  int
}

func (in *fuzzInput) done() bool { return in.pos >= len(in.data) }

func (in *fuzzInput) next() byte {
	if in.pos >= len(in.data) {
		return 0
	}
	b := in.data[in.pos]
	in.pos++
	return b
}

// message builds a message whose fields stay near the core's state, so
// that the fuzzer reaches deep states instead of being refused at once.
func (in *fuzzInput) message(term uint64) Message {
	m := Message{
		Type: MessageType(in.next() % 11), // includes invalid types 0 and 10
		From: 2 + uint64(in.next()%3),     // 4 is not a member
		To:   1,
	}
	m.Term = max(term+uint64(in.next()%4), 2) - 1 // term-1 .. term+2
	m.Index = uint64(in.next() % 16)
	m.LogTerm = uint64(in.next() % 8)
	m.Commit = uint64(in.next() % 16)
	flags := in.next()
	m.Reject = flags&1 != 0
	m.HintTerm = uint64(flags >> 1 & 7)
	m.HintIndex = uint64(flags >> 4)
	n := int(in.next() % 4)
	prev := m.LogTerm
	for i := range n {
		t := prev + uint64(in.next()%2)
		m.Entries = append(m.Entries, Entry{Index: m.Index + 1 + uint64(i), Term: t, Data: []byte{byte(i)}})
		prev = t
	}
	if m.Type == MsgSnap && flags&8 == 0 {
		m.Snapshot = &Snapshot{Meta: SnapshotMeta{Index: m.Index, Term: m.LogTerm, Voters: []uint64{1, 2, 3}}}
	}
	return m
}
