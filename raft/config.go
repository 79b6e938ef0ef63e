package raft

import (
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"time"
)

// Config configures one core. Every dependency is explicit: the random source
// and the logger come from the caller, so a run is reproducible from its seed.
type Config struct {
	// ID is this node's id (non-zero).
	ID uint64
	// Voters is the initial voting membership, used when the node starts with
	// no snapshot; it must contain ID. A snapshot's membership overrides it.
	Voters []uint64

	// ElectionTimeoutMin and ElectionTimeoutMax bound the randomized election
	// timeout, drawn uniformly and continuously (nanosecond resolution) from
	// [Min, Max] at every reset. Min == Max is allowed (no randomization).
	ElectionTimeoutMin time.Duration
	ElectionTimeoutMax time.Duration
	// CandidateTimeoutMin and CandidateTimeoutMax, if Max is set, bound
	// the timeout a candidate (or pre-candidate) waits before it retries
	// an election that did not finish, instead of the election timeout
	// range. A range shorter than the followers' makes the candidates of a
	// split vote retry before any follower times out, so one of them
	// usually wins the next round ("Raft Refloated", Howard et al., 2015).
	CandidateTimeoutMin time.Duration
	CandidateTimeoutMax time.Duration
	// HeartbeatInterval is how often a leader sends heartbeats. Default:
	// ElectionTimeoutMin / 2.
	HeartbeatInterval time.Duration

	// PreVote makes a node ask whether it could win before it disrupts the
	// cluster with a higher term.
	PreVote bool
	// CheckQuorum makes a leader step down when it has not heard from a quorum
	// within ElectionTimeoutMin, and makes voters ignore vote requests while
	// they have heard from a live leader within ElectionTimeoutMin.
	CheckQuorum bool

	// MaxClockDrift bounds how much faster or slower one node's clock may
	// run than another's over an election timeout (e.g. 0.01 = 1%). Lease
	// reads last ElectionTimeoutMin * (1 - MaxClockDrift) from the send time
	// of the last heartbeat round a quorum answered. Default 0.01.
	MaxClockDrift float64

	// MaxInflightMsgs bounds the AppendEntries messages in flight to one
	// follower in the replicate state (the pipelining window). Default 64.
	MaxInflightMsgs int
	// MaxEntriesPerMsg bounds the entries in one AppendEntries. Default 1024.
	MaxEntriesPerMsg int
	// MaxBytesPerMsg bounds the payload bytes in one AppendEntries (one entry
	// is always allowed, whatever its size). Default 1 MiB.
	MaxBytesPerMsg uint64

	// CommitNotifyDelay is how long a leader may hold back a new commit
	// index from followers that have every entry, waiting for the next
	// AppendEntries with entries to carry it. Under a steady stream of
	// proposals that next message comes within microseconds, so the
	// commit-only message and its response (a third of all messages at
	// moderate rates) are never sent. Clients do not wait for it: the
	// leader applies and answers on its own commit. What waits is a
	// follower's apply; a follower read does not, since the heartbeat
	// round that confirms it carries the commit.
	// 0 sends the commit-only message at once.
	CommitNotifyDelay time.Duration

	// Rand is the source of election timeouts. Required: the core has no
	// global randomness.
	Rand *rand.Rand
	// Logger receives protocol events at debug level. Default: discard.
	Logger *slog.Logger
	// OnRoleChange, if set, is called synchronously whenever the role, term or
	// known leader changes.
	OnRoleChange func(RoleChange)
}

// ErrInvalidConfig wraps every configuration error.
var ErrInvalidConfig = errors.New("raft: invalid config")

func (c *Config) validate() error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	switch {
	case c.ID == None:
		return bad("ID must be non-zero")
	case c.ElectionTimeoutMin <= 0:
		return bad("ElectionTimeoutMin must be positive, got %v", c.ElectionTimeoutMin)
	case c.ElectionTimeoutMax < c.ElectionTimeoutMin:
		return bad("ElectionTimeoutMax %v < ElectionTimeoutMin %v", c.ElectionTimeoutMax, c.ElectionTimeoutMin)
	case c.CandidateTimeoutMax > 0 && (c.CandidateTimeoutMin <= 0 || c.CandidateTimeoutMax < c.CandidateTimeoutMin):
		return bad("candidate timeout range %v-%v: want 0 < min <= max", c.CandidateTimeoutMin, c.CandidateTimeoutMax)
	case c.CandidateTimeoutMax == 0 && c.CandidateTimeoutMin != 0:
		return bad("CandidateTimeoutMin %v without CandidateTimeoutMax", c.CandidateTimeoutMin)
	case c.HeartbeatInterval < 0:
		return bad("HeartbeatInterval must not be negative")
	case c.CommitNotifyDelay < 0:
		return bad("CommitNotifyDelay must not be negative")
	case c.Rand == nil:
		return bad("Rand is required (seeded source of election timeouts)")
	case c.MaxInflightMsgs < 0 || c.MaxEntriesPerMsg < 0:
		return bad("limits must not be negative")
	}
	for _, v := range c.Voters {
		if v == None {
			return bad("voter id 0")
		}
	}
	if len(c.Voters) > 0 && !slices.Contains(c.Voters, c.ID) {
		return bad("Voters %v do not contain ID %d", c.Voters, c.ID)
	}
	if c.HeartbeatInterval == 0 {
		c.HeartbeatInterval = c.ElectionTimeoutMin / 2
	}
	if c.HeartbeatInterval >= c.ElectionTimeoutMin {
		return bad("HeartbeatInterval %v must be below ElectionTimeoutMin %v", c.HeartbeatInterval, c.ElectionTimeoutMin)
	}
	if c.MaxClockDrift < 0 || c.MaxClockDrift >= 1 {
		return bad("MaxClockDrift %v must be in [0, 1)", c.MaxClockDrift)
	}
	if c.MaxClockDrift == 0 {
		c.MaxClockDrift = 0.01
	}
	if c.MaxInflightMsgs == 0 {
		c.MaxInflightMsgs = 64
	}
	if c.MaxEntriesPerMsg == 0 {
		c.MaxEntriesPerMsg = 1024
	}
	if c.MaxBytesPerMsg == 0 {
		c.MaxBytesPerMsg = 1 << 20
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}
