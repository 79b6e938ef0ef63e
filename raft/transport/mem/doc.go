// Package mem is an in-process transport with the simulator's fault model,
// in real time: for tests of the node and of anything built on it.
//
// A Network holds endpoints, one per node (Join). Each one-way link has a
// LinkModel: a delay distribution, loss, duplication and reordering
// probabilities; SetDefaultLink and SetLink change them at run time.
// Partition (symmetric groups), Cut and Mend (one-way) and Heal change
// reachability at run time. Links are checked when a message is sent: a
// message already in flight when a partition starts is still delivered,
// as in the simulator. Random choices come from the network's seed, so a
// single-goroutine sender sees the same faults run after run (delivery
// times are real time, hence not reproducible).
//
// Delivery: each endpoint has one scheduler goroutine with a heap of
// messages in flight, ordered by delivery time. A link is FIFO: a message
// is never delivered before one its sender sent earlier to the same
// destination, unless the link's model reordered it. Due messages are
// handed to Handler.Deliver on that goroutine, one call per run of messages
// from the same sender; so one endpoint's Deliver calls never overlap. At
// most SetQueueLen messages (default DefaultQueueLen) are in flight to one
// endpoint; beyond that they are dropped and counted.
//
// Messages are not serialized: the receiver gets the sender's Message
// values, sharing entries' Data, Context and Snapshot, which neither side
// may modify. The Deliver slice itself is fresh and the handler's.
//
// Snapshots stream through an io.Pipe to the destination's HandleSnapshot,
// which runs on a goroutine of its own; the sender blocks until the handler
// returns. Link faults apply when the stream starts (cut, partition or loss
// fail it; the link's delay delays it).
//
// Close leaves the network: in-flight messages to the endpoint are
// dropped, its streams fail, and Close waits for its goroutines. The same
// id may Join again, which is how tests restart a node.
package mem
