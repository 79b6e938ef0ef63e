package raft

import (
	"math/rand/v2"
	"slices"
	"testing"
)

// ackedFrom maps voter i+1 to acked[i].
func ackedFrom(acked []uint64) func(uint64) uint64 {
	return func(id uint64) uint64 {
		if id == 0 || int(id) > len(acked) {
			return 0
		}
		return acked[id-1]
	}
}

func TestMajorityCommittedIndex(t *testing.T) {
	tests := []struct {
		name  string
		acked []uint64 // acked[i] is voter i+1's durable index
		want  uint64
	}{
		{"1 voter", []uint64{7}, 7},
		{"1 voter at zero", []uint64{0}, 0},
		{"2 voters need both", []uint64{5, 9}, 5},
		{"2 voters reversed", []uint64{9, 5}, 5},
		{"3 voters median", []uint64{2, 8, 5}, 5},
		{"3 voters one far behind", []uint64{0, 10, 10}, 10},
		{"3 voters two behind", []uint64{0, 0, 10}, 0},
		{"4 voters need 3", []uint64{1, 4, 3, 2}, 2},
		{"4 voters two ahead is not enough", []uint64{9, 9, 1, 1}, 1},
		{"4 voters three ahead", []uint64{9, 9, 9, 1}, 9},
		{"5 voters need 3", []uint64{5, 1, 4, 2, 3}, 3},
		{"5 voters two ahead", []uint64{9, 9, 2, 2, 2}, 2},
		{"5 voters three ahead", []uint64{9, 9, 9, 2, 2}, 9},
		{"7 voters need 4", []uint64{7, 6, 5, 4, 3, 2, 1}, 4},
		{"7 voters three ahead", []uint64{9, 9, 9, 1, 1, 1, 1}, 1},
		{"7 voters four ahead", []uint64{1, 9, 1, 9, 1, 9, 9}, 9},
		{"9 voters need 5", []uint64{1, 2, 3, 4, 5, 6, 7, 8, 9}, 5},
		{"9 voters four ahead", []uint64{9, 9, 9, 9, 1, 1, 1, 1, 1}, 1},
		{"9 voters five ahead", []uint64{9, 9, 9, 9, 9, 1, 1, 1, 1}, 9},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := MajorityConfig(ids(len(tt.acked)))
			if got := c.CommittedIndex(ackedFrom(tt.acked)); got != tt.want {
				t.Errorf("CommittedIndex(%v) = %d, want %d", tt.acked, got, tt.want)
			}
		})
	}
}

// bruteCommitted is the definition: the largest index held by at least a
// majority.
func bruteCommitted(acked []uint64) uint64 {
	q := len(acked)/2 + 1
	var best uint64
	for _, v := range acked {
		n := 0
		for _, w := range acked {
			if w >= v {
				n++
			}
		}
		if n >= q && v > best {
			best = v
		}
	}
	return best
}

func TestMajorityCommittedIndexMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, n := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 11} {
		for range 500 {
			acked := make([]uint64, n)
			for i := range acked {
				acked[i] = rng.Uint64N(20)
			}
			c := MajorityConfig(ids(n))
			if got, want := c.CommittedIndex(ackedFrom(acked)), bruteCommitted(acked); got != want {
				t.Fatalf("n=%d CommittedIndex(%v) = %d, want %d", n, acked, got, want)
			}
		}
	}
}

func TestMajorityCommittedIndexEmpty(t *testing.T) {
	if got := MajorityConfig(nil).CommittedIndex(ackedFrom(nil)); got != ^uint64(0) {
		t.Errorf("empty CommittedIndex = %d, want MaxUint64", got)
	}
}

func TestMajorityCommittedIndexSmallClustersDoNotAllocate(t *testing.T) {
	for _, n := range []int{1, 3, 5, 7} {
		c := MajorityConfig(ids(n))
		acked := make([]uint64, n)
		for i := range acked {
			acked[i] = uint64(n - i)
		}
		f := ackedFrom(acked)
		if allocs := testing.AllocsPerRun(100, func() { c.CommittedIndex(f) }); allocs != 0 {
			t.Errorf("n=%d: CommittedIndex allocates %v times, want 0", n, allocs)
		}
	}
}

// votesFrom builds a vote function: 'y' granted, 'n' rejected, '_' missing,
// for voters 1..len(s).
func votesFrom(s string) func(uint64) (bool, bool) {
	return func(id uint64) (bool, bool) {
		if id == 0 || int(id) > len(s) {
			return false, false
		}
		switch s[id-1] {
		case 'y':
			return true, true
		case 'n':
			return false, true
		}
		return false, false
	}
}

func TestMajorityVoteResult(t *testing.T) {
	tests := []struct {
		votes string // one letter per voter: y granted, n rejected, _ missing
		want  VoteResult
	}{
		{"y", VoteWon},
		{"n", VoteLost},
		{"_", VotePending},

		{"yy", VoteWon},
		{"y_", VotePending},
		{"yn", VoteLost},
		{"__", VotePending},

		{"y__", VotePending},
		{"yy_", VoteWon},
		{"yn_", VotePending},
		{"ynn", VoteLost},
		{"nn_", VoteLost},

		{"yy__", VotePending},
		{"yyy_", VoteWon},
		{"yynn", VoteLost},
		{"yyn_", VotePending},

		{"yy___", VotePending},
		{"yyy__", VoteWon},
		{"yynn_", VotePending},
		{"yynnn", VoteLost},
		{"nnn__", VoteLost},

		{"yyy____", VotePending},
		{"yyyy___", VoteWon},
		{"yyynnn_", VotePending},
		{"yyynnnn", VoteLost},

		{"yyyy_____", VotePending},
		{"yyyyy____", VoteWon},
		{"yyyynnnn_", VotePending},
		{"yyyynnnnn", VoteLost},
		{"_nnnnn___", VoteLost},
	}
	for _, tt := range tests {
		c := MajorityConfig(ids(len(tt.votes)))
		if got := c.VoteResult(votesFrom(tt.votes)); got != tt.want {
			t.Errorf("%d voters %q: VoteResult = %v, want %v", len(tt.votes), tt.votes, got, tt.want)
		}
	}
}

func TestMajorityVoteResultEmptyWins(t *testing.T) {
	if got := MajorityConfig(nil).VoteResult(votesFrom("")); got != VoteWon {
		t.Errorf("empty config VoteResult = %v, want VoteWon", got)
	}
}

func TestJointCommittedIndex(t *testing.T) {
	acked := map[uint64]uint64{1: 10, 2: 9, 3: 3, 4: 2, 5: 1}
	f := func(id uint64) uint64 { return acked[id] }
	tests := []struct {
		name string
		c    JointConfig
		want uint64
	}{
		{"empty second half acts like the first", JointConfig{{1, 2, 3}}, 9},
		{"second half lags", JointConfig{{1, 2, 3}, {3, 4, 5}}, 2},
		{"first half lags", JointConfig{{3, 4, 5}, {1, 2, 3}}, 2},
		{"overlapping halves", JointConfig{{1, 2, 3}, {1, 2, 4}}, 9},
		{"single voter halves", JointConfig{{1}, {5}}, 1},
	}
	for _, tt := range tests {
		if got := tt.c.CommittedIndex(f); got != tt.want {
			t.Errorf("%s: %v CommittedIndex = %d, want %d", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestJointVoteResult(t *testing.T) {
	// Voters 1..6: 1,2 grant; 3 rejects; 4,5 reject; 6 missing.
	vote := func(id uint64) (bool, bool) {
		switch id {
		case 1, 2:
			return true, true
		case 3, 4, 5:
			return false, true
		}
		return false, false
	}
	tests := []struct {
		name string
		c    JointConfig
		want VoteResult
	}{
		{"empty second half: first wins", JointConfig{{1, 2, 3}}, VoteWon},
		{"empty second half: first loses", JointConfig{{3, 4, 5}}, VoteLost},
		{"both win", JointConfig{{1, 2, 3}, {1, 2, 4}}, VoteWon},
		{"first wins, second loses", JointConfig{{1, 2, 3}, {3, 4, 5}}, VoteLost},
		{"first loses, second wins", JointConfig{{3, 4, 5}, {1, 2, 3}}, VoteLost},
		{"first wins, second pending", JointConfig{{1, 2, 3}, {1, 4, 6}}, VotePending},
		{"first pending, second wins", JointConfig{{1, 4, 6}, {1, 2}}, VotePending},
		{"pending and lost is lost", JointConfig{{1, 4, 6}, {3, 4, 5}}, VoteLost},
	}
	for _, tt := range tests {
		if got := tt.c.VoteResult(vote); got != tt.want {
			t.Errorf("%s: %v VoteResult = %v, want %v", tt.name, tt.c, got, tt.want)
		}
	}
}

func TestJointIDsAndContains(t *testing.T) {
	c := JointConfig{{3, 1, 2}, {4, 2, 5}}
	if got, want := c.IDs(), []uint64{1, 2, 3, 4, 5}; !slices.Equal(got, want) {
		t.Errorf("IDs = %v, want %v", got, want)
	}
	for id, want := range map[uint64]bool{1: true, 4: true, 5: true, 6: false, 0: false} {
		if got := c.Contains(id); got != want {
			t.Errorf("Contains(%d) = %t, want %t", id, got, want)
		}
	}
	if got, want := (JointConfig{{2, 1}}).IDs(), []uint64{1, 2}; !slices.Equal(got, want) {
		t.Errorf("IDs with empty second half = %v, want %v", got, want)
	}
}
