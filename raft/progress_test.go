package raft

import (
	"slices"
	"testing"
)

// inflightIndexes lists the window's contents, oldest first.
func inflightIndexes(in *Inflights) []uint64 {
	var out []uint64
	for i := range in.count {
		out = append(out, in.buf[(in.start+i)%len(in.buf)])
	}
	return out
}

func TestInflightsRing(t *testing.T) {
	in := Inflights{buf: make([]uint64, 4)}
	check := func(step string, want []uint64, wantFull bool) {
		t.Helper()
		if got := inflightIndexes(&in); !slices.Equal(got, want) {
			t.Errorf("%s: window = %v, want %v", step, got, want)
		}
		if got := in.Count(); got != len(want) {
			t.Errorf("%s: Count = %d, want %d", step, got, len(want))
		}
		if got := in.Full(); got != wantFull {
			t.Errorf("%s: Full = %t, want %t", step, got, wantFull)
		}
	}
	check("empty", nil, false)
	for i := uint64(1); i <= 4; i++ {
		in.Add(i * 10)
	}
	check("filled", []uint64{10, 20, 30, 40}, true)

	in.FreeLE(5)
	check("FreeLE below the oldest", []uint64{10, 20, 30, 40}, true)
	in.FreeLE(25)
	check("FreeLE(25)", []uint64{30, 40}, false)

	// Wrap around the end of the buffer.
	in.Add(50)
	in.Add(60)
	check("wrapped", []uint64{30, 40, 50, 60}, true)
	if in.start == 0 {
		t.Fatalf("start = 0 after freeing two slots, the ring did not wrap")
	}

	in.FreeFirstOne()
	check("FreeFirstOne", []uint64{40, 50, 60}, false)
	in.Add(70)
	check("add after FreeFirstOne", []uint64{40, 50, 60, 70}, true)

	in.FreeLE(60)
	check("FreeLE across the wrap", []uint64{70}, false)
	in.FreeLE(1000)
	check("FreeLE everything", nil, false)
	in.FreeFirstOne()
	check("FreeFirstOne on empty", nil, false)
	in.FreeLE(1000)
	check("FreeLE on empty", nil, false)

	in.Add(80)
	in.Reset()
	check("Reset", nil, false)
}

func TestInflightsAddWhenFullPanics(t *testing.T) {
	in := Inflights{buf: make([]uint64, 2)}
	in.Add(1)
	in.Add(2)
	defer func() {
		if recover() == nil {
			t.Errorf("Add on a full window did not panic")
		}
	}()
	in.Add(3)
}

func TestProgressBecome(t *testing.T) {
	tests := []struct {
		name      string
		p         Progress
		become    func(*Progress)
		wantState ProgressState
		wantNext  uint64
		wantPend  uint64
	}{
		{"replicate to probe restarts after match",
			Progress{State: StateReplicate, Match: 5, Next: 12}, (*Progress).BecomeProbe, StateProbe, 6, 0},
		{"probe to probe",
			Progress{State: StateProbe, Match: 5, Next: 9, ProbeSent: true}, (*Progress).BecomeProbe, StateProbe, 6, 0},
		{"snapshot to probe resumes after the snapshot",
			Progress{State: StateSnapshot, Match: 5, Next: 6, PendingSnapshot: 20}, (*Progress).BecomeProbe, StateProbe, 21, 0},
		{"snapshot to probe after match beyond the snapshot",
			Progress{State: StateSnapshot, Match: 30, Next: 31, PendingSnapshot: 20}, (*Progress).BecomeProbe, StateProbe, 31, 0},
		{"probe to replicate",
			Progress{State: StateProbe, Match: 5, Next: 9, ProbeSent: true}, (*Progress).BecomeReplicate, StateReplicate, 6, 0},
		{"replicate to snapshot",
			Progress{State: StateReplicate, Match: 5, Next: 9}, func(p *Progress) { p.BecomeSnapshot(42) }, StateSnapshot, 9, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.p
			p.Inflights = Inflights{buf: make([]uint64, 4)}
			p.Inflights.Add(100)
			tt.become(&p)
			if p.State != tt.wantState || p.Next != tt.wantNext || p.PendingSnapshot != tt.wantPend {
				t.Errorf("got state=%v next=%d pending=%d, want state=%v next=%d pending=%d",
					p.State, p.Next, p.PendingSnapshot, tt.wantState, tt.wantNext, tt.wantPend)
			}
			if p.ProbeSent {
				t.Errorf("ProbeSent = true after a state change, want false")
			}
			if n := p.Inflights.Count(); n != 0 {
				t.Errorf("inflights = %d after a state change, want 0", n)
			}
		})
	}
}

func TestProgressMaybeUpdate(t *testing.T) {
	tests := []struct {
		match, next, index  uint64
		want                bool
		wantMatch, wantNext uint64
	}{
		{5, 10, 3, false, 5, 10}, // old ack: nothing moves
		{5, 10, 5, false, 5, 10}, // duplicate ack
		{5, 10, 7, true, 7, 10},  // in-flight ack: next stays ahead
		{5, 10, 12, true, 12, 13},
		{0, 1, 0, false, 0, 1},
	}
	for _, tt := range tests {
		p := Progress{Match: tt.match, Next: tt.next, ProbeSent: true}
		got := p.MaybeUpdate(tt.index)
		if got != tt.want || p.Match != tt.wantMatch || p.Next != tt.wantNext {
			t.Errorf("match=%d next=%d MaybeUpdate(%d) = %t match=%d next=%d, want %t match=%d next=%d",
				tt.match, tt.next, tt.index, got, p.Match, p.Next, tt.want, tt.wantMatch, tt.wantNext)
		}
		if tt.want && p.ProbeSent {
			t.Errorf("MaybeUpdate(%d) moved match but left ProbeSent set", tt.index)
		}
	}
}

func TestProgressMaybeDecrTo(t *testing.T) {
	tests := []struct {
		name             string
		state            ProgressState
		match, next      uint64
		rejected, hint   uint64
		want             bool
		wantNext         uint64
		wantProbeSentOff bool
	}{
		// Replicate: any rejection above Match is current; Next goes back.
		{"replicate: stale rejection at match", StateReplicate, 5, 10, 5, 3, false, 10, false},
		{"replicate: stale rejection below match", StateReplicate, 5, 10, 2, 1, false, 10, false},
		{"replicate: hint below rejected", StateReplicate, 5, 10, 9, 7, true, 7, false},
		{"replicate: hint beyond rejected is capped", StateReplicate, 5, 10, 9, 20, true, 9, false},
		{"replicate: hint below match is raised", StateReplicate, 5, 10, 9, 2, true, 6, false},

		// Probe: only the answer to the latest probe (Next-1) counts.
		{"probe: answer to the latest probe", StateProbe, 0, 10, 9, 4, true, 4, true},
		{"probe: stale answer to an older probe", StateProbe, 0, 10, 7, 4, false, 10, false},
		{"probe: answer for a later index", StateProbe, 0, 10, 11, 4, false, 10, false},
		{"probe: hint beyond rejected is capped", StateProbe, 0, 10, 9, 15, true, 9, true},
		{"probe: hint below match is raised", StateProbe, 3, 10, 9, 1, true, 4, true},
		{"probe: hint zero", StateProbe, 0, 2, 1, 0, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := Progress{State: tt.state, Match: tt.match, Next: tt.next, ProbeSent: tt.state == StateProbe}
			got := p.MaybeDecrTo(tt.rejected, tt.hint)
			if got != tt.want || p.Next != tt.wantNext {
				t.Errorf("MaybeDecrTo(%d, %d) = %t next=%d, want %t next=%d", tt.rejected, tt.hint, got, p.Next, tt.want, tt.wantNext)
			}
			if tt.wantProbeSentOff && p.ProbeSent {
				t.Errorf("ProbeSent still set after a valid rejection, want cleared")
			}
			if tt.state == StateProbe && !tt.want && !p.ProbeSent {
				t.Errorf("ProbeSent cleared by a stale rejection, want set")
			}
			if p.Match != tt.match {
				t.Errorf("match = %d, want unchanged %d", p.Match, tt.match)
			}
		})
	}
}

func TestProgressIsPaused(t *testing.T) {
	full := Inflights{buf: make([]uint64, 2)}
	full.Add(1)
	full.Add(2)
	half := Inflights{buf: make([]uint64, 2)}
	half.Add(1)
	tests := []struct {
		name string
		p    Progress
		want bool
	}{
		{"probe, nothing out", Progress{State: StateProbe}, false},
		{"probe, probe out", Progress{State: StateProbe, ProbeSent: true}, true},
		{"replicate, window has room", Progress{State: StateReplicate, Inflights: half}, false},
		{"replicate, window full", Progress{State: StateReplicate, Inflights: full}, true},
		{"replicate ignores ProbeSent", Progress{State: StateReplicate, Inflights: half, ProbeSent: true}, false},
		{"snapshot always paused", Progress{State: StateSnapshot, Inflights: half}, true},
	}
	for _, tt := range tests {
		if got := tt.p.IsPaused(); got != tt.want {
			t.Errorf("%s: IsPaused = %t, want %t", tt.name, got, tt.want)
		}
	}
}

func TestProgressStateString(t *testing.T) {
	for s, want := range map[ProgressState]string{StateProbe: "probe", StateReplicate: "replicate", StateSnapshot: "snapshot", 9: "ProgressState(9)"} {
		if got := s.String(); got != want {
			t.Errorf("String(%d) = %q, want %q", s, got, want)
		}
	}
}
