package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/raftbench/raftbench/bench"
	"github.com/raftbench/raftbench/raft"
	"github.com/raftbench/raftbench/raft/node"
)

// Prefix starts every metric name this package exports.
const Prefix = "raftbench_"

// roles are the values of the role label, in raft.Role order.
var roles = [...]raft.Role{raft.Follower, raft.PreCandidate, raft.Candidate, raft.Leader}

// Collector holds every metric. Create it with New.
type Collector struct {
	gatherer prometheus.Gatherer

	proposals         *prometheus.CounterVec
	entriesPerAppend  *prometheus.HistogramVec
	entriesPerMessage *prometheus.HistogramVec
	fsync             *prometheus.HistogramVec
	electionsStarted  *prometheus.CounterVec
	electionsWon      *prometheus.CounterVec
	leaderChanges     *prometheus.CounterVec
	snapshots         *prometheus.CounterVec
	snapshotBytes     *prometheus.CounterVec

	ops     *prometheus.CounterVec
	errors  *prometheus.CounterVec
	latency *prometheus.HistogramVec

	state *stateCollector
}

// New creates the metrics and registers them with reg. gatherer (usually
// the same registry) is what Handler serves; it may be nil if Handler is
// not used.
func New(reg prometheus.Registerer, gatherer prometheus.Gatherer) (*Collector, error) {
	nodeLabels := []string{"engine", "node"}
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return prometheus.NewCounterVec(prometheus.CounterOpts{Name: Prefix + name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: Prefix + name, Help: help, Buckets: buckets}, labels)
	}
	entryBuckets := append([]float64{0}, prometheus.ExponentialBuckets(1, 2, 14)...) // 0, 1, 2, ... 8192
	c := &Collector{
		gatherer:          gatherer,
		proposals:         counter("raft_proposals_total", "Entries proposed on the leader.", nodeLabels...),
		entriesPerAppend:  histogram("raft_entries_per_append", "Entries written per WAL group commit (one write, one fdatasync).", entryBuckets, nodeLabels...),
		entriesPerMessage: histogram("raft_entries_per_message", "Entries per AppendEntries message sent (0: a probe or a commit-index update).", entryBuckets, nodeLabels...),
		fsync:             histogram("raft_fsync_seconds", "Time of the fdatasync of each WAL group commit.", prometheus.ExponentialBuckets(50e-6, 2, 16), nodeLabels...),
		electionsStarted:  counter("raft_elections_started_total", "Times the node became a candidate.", nodeLabels...),
		electionsWon:      counter("raft_elections_won_total", "Times the node became the leader.", nodeLabels...),
		leaderChanges:     counter("raft_leader_changes_total", "Times the node learned of a leader other than the last it knew.", nodeLabels...),
		snapshots:         counter("raft_snapshots_total", "Snapshots the node took of its state machine.", nodeLabels...),
		snapshotBytes:     counter("raft_snapshot_bytes_total", "Bytes of the snapshots the node took.", nodeLabels...),
		ops:               counter("load_ops_total", "Measured load-generator requests that succeeded, by kind (read or write).", "engine", "kind"),
		errors:            counter("load_errors_total", "Measured load-generator requests that failed, by error kind.", "engine", "kind"),
		latency:           histogram("load_latency_seconds", "Latency of successful load-generator requests from their intended send time, by kind (read or write).", prometheus.ExponentialBuckets(50e-6, 2, 18), "engine", "kind"),
		state:             newStateCollector(),
	}
	for _, col := range []prometheus.Collector{
		c.proposals, c.entriesPerAppend, c.entriesPerMessage, c.fsync,
		c.electionsStarted, c.electionsWon, c.leaderChanges, c.snapshots, c.snapshotBytes,
		c.ops, c.errors, c.latency, c.state,
	} {
		if err := reg.Register(col); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// NewRegistry returns a registry holding the Go runtime's and the
// process's collectors and, registered with it, a Collector.
func NewRegistry() (*prometheus.Registry, *Collector, error) {
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	c, err := New(reg, reg)
	return reg, c, err
}

// Handler serves the gatherer given to New in the Prometheus text (or
// protobuf, as the scraper asks) format.
func (c *Collector) Handler() http.Handler {
	return promhttp.HandlerFor(c.gatherer, promhttp.HandlerOpts{})
}

// Nodes returns the observer of the nodes of engine's clusters, for
// bench.RaftEngine{Observer: ...}. Nodes with the same engine and id (a
// restart, or the next cluster of the same engine) share their counters.
func (c *Collector) Nodes(engine string) bench.NodeObserver {
	return &nodeSet{c: c, engine: engine}
}

// NodeMetrics returns the hooks of one node, for node.Config.Metrics (when
// nodes are started without an engine, as election trials are: their
// state is then not exported, only their events).
func (c *Collector) NodeMetrics(engine string, id uint64) node.Metrics {
	l := prometheus.Labels{"engine": engine, "node": strconv.FormatUint(id, 10)}
	return &nodeHooks{
		proposals:         c.proposals.With(l),
		entriesPerAppend:  c.entriesPerAppend.With(l),
		entriesPerMessage: c.entriesPerMessage.With(l),
		fsync:             c.fsync.With(l),
		electionsStarted:  c.electionsStarted.With(l),
		electionsWon:      c.electionsWon.With(l),
		leaderChanges:     c.leaderChanges.With(l),
		snapshots:         c.snapshots.With(l),
		snapshotBytes:     c.snapshotBytes.With(l),
	}
}

type nodeSet struct {
	c      *Collector
	engine string
}

func (s *nodeSet) NodeMetrics(id uint64) node.Metrics { return s.c.NodeMetrics(s.engine, id) }
func (s *nodeSet) NodeRunning(id uint64, n *node.Node) {
	s.c.state.attach(nodeKey{s.engine, id}, n)
}
func (s *nodeSet) NodeStopped(id uint64, n *node.Node) {
	s.c.state.detach(nodeKey{s.engine, id}, n)
}

// nodeHooks is one node's node.Metrics: every child resolved once.
type nodeHooks struct {
	proposals         prometheus.Counter
	entriesPerAppend  prometheus.Observer
	entriesPerMessage prometheus.Observer
	fsync             prometheus.Observer
	electionsStarted  prometheus.Counter
	electionsWon      prometheus.Counter
	leaderChanges     prometheus.Counter
	snapshots         prometheus.Counter
	snapshotBytes     prometheus.Counter
}

func (h *nodeHooks) Proposed(entries int) { h.proposals.Add(float64(entries)) }
func (h *nodeHooks) GroupCommit(entries int, sync time.Duration) {
	h.fsync.Observe(sync.Seconds())
	if entries > 0 {
		h.entriesPerAppend.Observe(float64(entries))
	}
}
func (h *nodeHooks) AppendSent(_ uint64, entries int) { h.entriesPerMessage.Observe(float64(entries)) }
func (h *nodeHooks) ElectionStarted(uint64)           { h.electionsStarted.Inc() }
func (h *nodeHooks) ElectionWon(uint64)               { h.electionsWon.Inc() }
func (h *nodeHooks) LeaderChanged(uint64, uint64)     { h.leaderChanges.Inc() }
func (h *nodeHooks) SnapshotTaken(_ uint64, bytes int64) {
	h.snapshots.Inc()
	h.snapshotBytes.Add(float64(bytes))
}

type nodeKey struct {
	engine string
	id     uint64
}

// stateCollector reads the running nodes' state at each scrape.
type stateCollector struct {
	term, role, commit, applied, inflight *prometheus.Desc

	mu    sync.Mutex
	nodes map[nodeKey]*node.Node
	buf   []node.PeerInflight // under mu
}

func newStateCollector() *stateCollector {
	nodeLabels := []string{"engine", "node"}
	return &stateCollector{
		term:     prometheus.NewDesc(Prefix+"raft_term", "The node's current term.", nodeLabels, nil),
		role:     prometheus.NewDesc(Prefix+"raft_role", "1 for the node's role, 0 for the others.", append(nodeLabels, "role"), nil),
		commit:   prometheus.NewDesc(Prefix+"raft_commit_index", "Highest log index the node knows committed.", nodeLabels, nil),
		applied:  prometheus.NewDesc(Prefix+"raft_applied_index", "Highest log index applied to the node's state machine.", nodeLabels, nil),
		inflight: prometheus.NewDesc(Prefix+"raft_inflight_messages", "AppendEntries the leader has in flight to peer (its pipelining window).", append(nodeLabels, "peer"), nil),
		nodes:    map[nodeKey]*node.Node{},
	}
}

func (s *stateCollector) attach(k nodeKey, n *node.Node) {
	s.mu.Lock()
	s.nodes[k] = n
	s.mu.Unlock()
}

// detach forgets node k unless another node took its place already.
func (s *stateCollector) detach(k nodeKey, n *node.Node) {
	s.mu.Lock()
	if s.nodes[k] == n {
		delete(s.nodes, k)
	}
	s.mu.Unlock()
}

func (s *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{s.term, s.role, s.commit, s.applied, s.inflight} {
		ch <- d
	}
}

func (s *stateCollector) Collect(ch chan<- prometheus.Metric) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, n := range s.nodes {
		st := n.Status()
		engine, id := k.engine, strconv.FormatUint(k.id, 10)
		ch <- prometheus.MustNewConstMetric(s.term, prometheus.GaugeValue, float64(st.Term), engine, id)
		for _, r := range roles {
			v := 0.0
			if st.Role == r {
				v = 1
			}
			ch <- prometheus.MustNewConstMetric(s.role, prometheus.GaugeValue, v, engine, id, r.String())
		}
		ch <- prometheus.MustNewConstMetric(s.commit, prometheus.GaugeValue, float64(st.Commit), engine, id)
		ch <- prometheus.MustNewConstMetric(s.applied, prometheus.GaugeValue, float64(st.Applied), engine, id)
		s.buf = n.Inflight(s.buf[:0])
		for _, p := range s.buf {
			ch <- prometheus.MustNewConstMetric(s.inflight, prometheus.GaugeValue, float64(p.Messages), engine, id, strconv.FormatUint(p.Peer, 10))
		}
	}
}
