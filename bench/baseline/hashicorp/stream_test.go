package hashicorp

import (
	"errors"
	"io"
	"net"
	"testing"
	"time"

	"github.com/hashicorp/raft"
)

// pair opens stream layers for nodes 1 and 2 on one network.
func pair(t *testing.T) (*network, *streamLayer, *streamLayer) {
	t.Helper()
	nw := newNetwork()
	a, err := listen(nw, 1, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := listen(nw, 2, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close(); b.Close() })
	return nw, a, b
}

func addr(s *streamLayer) raft.ServerAddress { return raft.ServerAddress(s.Addr().String()) }

// accept runs Accept on s and delivers what it returns.
func accept(s *streamLayer) <-chan net.Conn {
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := s.Accept()
		if err != nil {
			close(ch)
			return
		}
		ch <- c
	}()
	return ch
}

// connected dials from -> to and returns both ends.
func connected(t *testing.T, from, to *streamLayer) (net.Conn, net.Conn) {
	t.Helper()
	in := accept(to)
	out, err := from.Dial(addr(to), time.Second)
	if err != nil {
		t.Fatalf("dial %d -> %d: %v", from.id, to.id, err)
	}
	select {
	case c := <-in:
		if c == nil {
			t.Fatal("accept failed")
		}
		return out, c
	case <-time.After(5 * time.Second):
		t.Fatal("no connection accepted")
	}
	return nil, nil
}

// closed says whether reading c fails within a second (a closed or reset
// connection), rather than timing out.
func closed(c net.Conn) bool {
	c.SetReadDeadline(time.Now().Add(time.Second))
	_, err := c.Read(make([]byte, 1))
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

func TestStreamLayerTagsAndCarries(t *testing.T) {
	_, a, b := pair(t)
	out, in := connected(t, a, b)
	lc := in.(*linkConn)
	if lc.local != 2 || lc.peer != 1 {
		t.Fatalf("accepted conn link = %d<-%d, want 2<-1", lc.local, lc.peer)
	}
	// The hello is consumed: the transport sees only what was sent after.
	if _, err := out.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	in.SetReadDeadline(time.Now().Add(time.Second))
	if _, err := io.ReadFull(in, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v; want \"ping\"", buf, err)
	}
}

func TestStreamLayerPartition(t *testing.T) {
	nw, a, b := pair(t)
	ab, abIn := connected(t, a, b)
	ba, baIn := connected(t, b, a)
	if n := nw.openConns(); n != 4 {
		t.Fatalf("%d open conns, want 4", n)
	}

	nw.setCut(map[link]bool{linkOf(1, 2): true})
	for name, c := range map[string]net.Conn{"1->2 dialer": ab, "1->2 acceptor": abIn, "2->1 dialer": ba, "2->1 acceptor": baIn} {
		if !closed(c) {
			t.Errorf("%s still open after the partition", name)
		}
	}
	if n := nw.openConns(); n != 0 {
		t.Errorf("%d open conns after the partition, want 0", n)
	}
	if _, err := a.Dial(addr(b), time.Second); !errors.Is(err, errPartitioned) {
		t.Errorf("dial 1->2 across the cut: %v, want errPartitioned", err)
	}
	if _, err := b.Dial(addr(a), time.Second); !errors.Is(err, errPartitioned) {
		t.Errorf("dial 2->1 across the cut: %v, want errPartitioned", err)
	}
	// A dial that got past the check before the cut (here: one that skips
	// it) is closed by the accepting side and never reaches its transport.
	in := accept(b)
	raw, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write(append(helloMagic[:], 0, 0, 0, 0, 0, 0, 0, 1))
	if !closed(raw) {
		t.Error("a connection across the cut was accepted")
	}

	nw.setCut(map[link]bool{})
	// The pending Accept above takes the next good connection.
	out, err := a.Dial(addr(b), time.Second)
	if err != nil {
		t.Fatalf("dial after heal: %v", err)
	}
	defer out.Close()
	select {
	case c := <-in:
		if c == nil || c.(*linkConn).peer != 1 {
			t.Fatalf("accepted %v after heal, want a conn from node 1", c)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("nothing accepted after heal")
	}
}

func TestStreamLayerRefusesStrangers(t *testing.T) {
	_, _, b := pair(t)
	in := accept(b)
	raw, err := net.Dial("tcp", b.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	raw.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
	if !closed(raw) {
		t.Error("a connection without hello was kept")
	}
	select {
	case c := <-in:
		t.Fatalf("Accept returned a stranger's connection %v", c)
	default:
	}
}

func TestStreamLayerCloseDropsNodeConns(t *testing.T) {
	nw, a, b := pair(t)
	ab, _ := connected(t, a, b)
	_, baIn := connected(t, b, a)
	a.Close() // node 1 crashes
	if !closed(ab) || !closed(baIn) {
		t.Error("node 1's connections survived its close")
	}
	if n := nw.openConns(); n != 0 {
		t.Errorf("%d open conns after close, want 0", n)
	}
	if _, err := b.Dial(addr(a), 200*time.Millisecond); err == nil {
		t.Error("dial to a closed node succeeded")
	}
}
