package hashicorp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/hashicorp/raft"
)

// errPartitioned is the dial error on a cut link.
var errPartitioned = errors.New("hashicorp engine: link cut by a partition")

// helloMagic opens every connection, before the dialer's node id: the
// accepting side learns which node connected, which the NetworkTransport
// itself never says (it names peers by address on the dialing side only).
var helloMagic = [4]byte{'h', 'r', 'b', '1'}

const (
	helloBytes = len(helloMagic) + 8
	// helloTimeout bounds the wait for a dialer's hello on an accepted
	// connection. The dialer writes it before Dial returns, so on loopback
	// it is there at once; the bound only keeps a stray client from
	// stalling the accept loop.
	helloTimeout = time.Second
)

// network is the cluster's loopback network as the stream layers see it:
// each node's address, which links are cut, and every open connection with
// the link it belongs to, so that a partition can close the connections it
// cuts. Links are symmetric: a cut refuses dials and accepts both ways.
type network struct {
	mu    sync.Mutex
	addrs map[raft.ServerAddress]uint64
	cut   map[link]bool
	conns map[*linkConn]struct{}
}

// link is a pair of node ids, lower first.
type link [2]uint64

func linkOf(a, b uint64) link {
	if a > b {
		a, b = b, a
	}
	return link{a, b}
}

func newNetwork() *network {
	return &network{addrs: map[raft.ServerAddress]uint64{}, cut: map[link]bool{}, conns: map[*linkConn]struct{}{}}
}

func (n *network) setAddr(id uint64, addr raft.ServerAddress) {
	n.mu.Lock()
	n.addrs[addr] = id
	n.mu.Unlock()
}

// isCut says whether the link between a and b is cut.
func (n *network) isCut(a, b uint64) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.cut[linkOf(a, b)]
}

// setCut replaces the set of cut links and closes every open connection
// on a link now cut.
func (n *network) setCut(cut map[link]bool) {
	n.mu.Lock()
	n.cut = cut
	var doomed []*linkConn
	for c := range n.conns {
		if cut[linkOf(c.local, c.peer)] {
			doomed = append(doomed, c)
		}
	}
	n.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}

// closeNode closes every connection to or from node id (its crash).
func (n *network) closeNode(id uint64) {
	n.mu.Lock()
	var doomed []*linkConn
	for c := range n.conns {
		if c.local == id || c.peer == id {
			doomed = append(doomed, c)
		}
	}
	n.mu.Unlock()
	for _, c := range doomed {
		c.Close()
	}
}

// register records c unless its link is cut, under the same lock as
// setCut, so no connection survives a partition that was set while it was
// being opened.
func (n *network) register(c *linkConn) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cut[linkOf(c.local, c.peer)] {
		return false
	}
	n.conns[c] = struct{}{}
	return true
}

func (n *network) forget(c *linkConn) {
	n.mu.Lock()
	delete(n.conns, c)
	n.mu.Unlock()
}

// openConns counts the open connections (tests).
func (n *network) openConns() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return len(n.conns)
}

// linkConn is a connection tagged with its link.
type linkConn struct {
	net.Conn
	local, peer uint64
	nw          *network
	once        sync.Once
}

func (c *linkConn) Close() error {
	var err error
	c.once.Do(func() {
		c.nw.forget(c)
		err = c.Conn.Close()
	})
	return err
}

// streamLayer is a raft.StreamLayer over TCP for node id that honours the
// network's partitions: a dial on a cut link fails at once, an accepted
// connection on a cut link is closed before the transport sees it, and a
// partition closes the connections it cuts. A real partition drops packets
// instead, so the transport would see timeouts rather than refusals; the
// refusal only makes the failure quicker to notice.
type streamLayer struct {
	id uint64
	nw *network
	ln net.Listener
}

var _ raft.StreamLayer = (*streamLayer)(nil)

// listen opens node id's stream layer on addr ("127.0.0.1:0" for a fresh
// port).
func listen(nw *network, id uint64, addr string) (*streamLayer, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	s := &streamLayer{id: id, nw: nw, ln: ln}
	nw.setAddr(id, raft.ServerAddress(ln.Addr().String()))
	return s, nil
}

// Dial connects to the node at address and says who is calling.
func (s *streamLayer) Dial(address raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	s.nw.mu.Lock()
	peer, known := s.nw.addrs[address]
	s.nw.mu.Unlock()
	if !known {
		return nil, fmt.Errorf("hashicorp engine: dial %s: no node has this address", address)
	}
	if s.nw.isCut(s.id, peer) {
		return nil, fmt.Errorf("dial node %d at %s: %w", peer, address, errPartitioned)
	}
	raw, err := net.DialTimeout("tcp", string(address), timeout)
	if err != nil {
		return nil, err
	}
	var hello [helloBytes]byte
	copy(hello[:], helloMagic[:])
	binary.BigEndian.PutUint64(hello[len(helloMagic):], s.id)
	if timeout > 0 {
		raw.SetWriteDeadline(time.Now().Add(timeout))
	}
	if _, err := raw.Write(hello[:]); err != nil {
		raw.Close()
		return nil, err
	}
	raw.SetWriteDeadline(time.Time{})
	c := &linkConn{Conn: raw, local: s.id, peer: peer, nw: s.nw}
	if !s.nw.register(c) {
		raw.Close()
		return nil, fmt.Errorf("dial node %d at %s: %w", peer, address, errPartitioned)
	}
	return c, nil
}

// Accept returns the next connection from a node whose link is not cut.
// Refused connections are closed here and never reach the transport: an
// error from Accept would make the transport's accept loop back off.
func (s *streamLayer) Accept() (net.Conn, error) {
	for {
		raw, err := s.ln.Accept()
		if err != nil {
			return nil, err
		}
		peer, err := readHello(raw)
		if err != nil {
			raw.Close()
			continue
		}
		c := &linkConn{Conn: raw, local: s.id, peer: peer, nw: s.nw}
		if !s.nw.register(c) {
			raw.Close()
			continue
		}
		return c, nil
	}
}

func readHello(c net.Conn) (uint64, error) {
	var hello [helloBytes]byte
	c.SetReadDeadline(time.Now().Add(helloTimeout))
	if _, err := io.ReadFull(c, hello[:]); err != nil {
		return 0, err
	}
	c.SetReadDeadline(time.Time{})
	if [4]byte(hello[:len(helloMagic)]) != helloMagic {
		return 0, errors.New("hashicorp engine: connection without hello")
	}
	return binary.BigEndian.Uint64(hello[len(helloMagic):]), nil
}

// Close stops accepting and closes every connection of the node, dialed or
// accepted: the node's peers see its crash at once.
func (s *streamLayer) Close() error {
	err := s.ln.Close()
	s.nw.closeNode(s.id)
	return err
}

func (s *streamLayer) Addr() net.Addr { return s.ln.Addr() }
