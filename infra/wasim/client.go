package wasim

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/session-host/host"
)

var _ host.Client = (*Client)(nil)

// Client is one device's connection to the simulated network: host.Client without a socket.
type Client struct {
	net    *Network
	device *store.Device
	log    waLog.Logger
	ctx    context.Context
	handle func(evt any) bool
	// builder is an unconnected whatsmeow client, used only for its message builders.
	builder *whatsmeow.Client

	mu   sync.Mutex
	conn *conn // the open connection, nil when disconnected
}

// NewClient returns a client of the network over the device, as whatsmeow.NewClient does.
func (n *Network) NewClient(o host.ClientOptions) *Client {
	ctx := o.Context
	if ctx == nil {
		ctx = context.Background()
	}
	builder := whatsmeow.NewClient(o.Device, o.Log)
	builder.SetMediaHTTPClient(&http.Client{Transport: mediaServer{n}})
	return &Client{net: n, device: o.Device, log: o.Log, ctx: ctx, handle: o.Handle, builder: builder}
}

// conn is one connection: its events, handled in order by one goroutine.
type conn struct {
	mu     sync.Mutex
	wake   *sync.Cond
	queue  []any
	closed bool // no more events are taken
	drain  bool // closed, but the events already queued are still handled
	timers []*time.Timer
}

func newConn() *conn {
	c := &conn{}
	c.wake = sync.NewCond(&c.mu)
	return c
}

// push queues an event; false once the connection is closed.
func (c *conn) push(evt any) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return false
	}
	c.queue = append(c.queue, evt)
	c.wake.Signal()
	return true
}

// next waits for the next event; false when the connection is closed and nothing is left to
// handle.
func (c *conn) next() (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for len(c.queue) == 0 && !c.closed {
		c.wake.Wait()
	}
	if len(c.queue) == 0 || (c.closed && !c.drain) {
		return nil, false
	}
	evt := c.queue[0]
	c.queue = c.queue[1:]
	return evt, true
}

// close ends the connection: with drain, after the events already queued are handled; else at
// once, answering the ones left that the server must deliver again (messages and receipts).
func (c *conn) close(drain bool) []any {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, t := range c.timers {
		t.Stop()
	}
	if c.closed {
		return nil
	}
	c.closed, c.drain = true, drain
	c.wake.Broadcast()
	if drain {
		return nil
	}
	left := redeliverable(c.queue)
	c.queue = nil
	return left
}

func (c *conn) isClosed() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closed
}

// after runs f after d unless the connection has closed by then.
func (c *conn) after(d time.Duration, f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timers = append(c.timers, time.AfterFunc(d, func() {
		if !c.isClosed() {
			f()
		}
	}))
}

func redeliverable(evts []any) []any {
	var out []any
	for _, e := range evts {
		switch e.(type) {
		case *events.Message, *events.Receipt:
			out = append(out, e)
		}
	}
	return out
}

// step is work the connection does in order with its events, as whatsmeow handles the
// server's nodes on its own goroutine.
type step func()

// run handles a connection's events until it closes. A message whose handler fails is
// delivered again after Options.Redeliver, as WhatsApp redelivers a message not acked.
func (c *Client) run(cn *conn, device func() types.JID) {
	for {
		evt, ok := cn.next()
		if !ok {
			return
		}
		if s, ok := evt.(step); ok {
			s()
			continue
		}
		if m, ok := evt.(*events.Message); ok {
			c.learnNames(m)
		}
		for !c.handle(evt) {
			if _, ok := evt.(*events.Message); !ok {
				break
			}
			time.Sleep(c.net.opts.Redeliver)
			if cn.isClosed() {
				if jid := device(); !jid.IsEmpty() {
					c.net.keep(jid, evt)
				}
				return
			}
		}
	}
}

func (c *Client) ownID() types.JID {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ownIDLocked()
}

func (c *Client) ownIDLocked() types.JID {
	if c.device.ID == nil {
		return types.EmptyJID
	}
	return *c.device.ID
}

// Connect opens a connection: an unpaired device is shown QR codes, a paired one is connected
// and receives what reached it meanwhile.
func (c *Client) Connect() error {
	if c.ctx.Err() != nil {
		return fmt.Errorf("connect: %w", c.ctx.Err())
	}
	c.net.mu.Lock()
	down := c.net.down
	c.net.mu.Unlock()
	if down {
		return fmt.Errorf("failed to dial whatsapp: %w", context.DeadlineExceeded)
	}
	c.mu.Lock()
	if c.conn != nil {
		c.mu.Unlock()
		return whatsmeow.ErrAlreadyConnected
	}
	cn := newConn()
	c.conn = cn
	id := c.ownIDLocked()
	c.mu.Unlock()
	go c.run(cn, c.ownID)
	if id.IsEmpty() {
		c.showQR(cn)
		return nil
	}
	c.attach(cn, id)
	return nil
}

// attach connects a paired device: logged out if its phone unlinked it meanwhile.
func (c *Client) attach(cn *conn, id types.JID) {
	n := c.net
	n.mu.Lock()
	if n.unlinked[id] {
		delete(n.unlinked, id)
		delete(n.offline, id)
		n.mu.Unlock()
		c.loggedOut(cn, true)
		return
	}
	// A device paired before the network started (the stack restarted) is still linked.
	p := n.phoneLocked(id.User)
	p.devices[id.Device] = true
	if c.device.PushName != "" {
		p.pushName = c.device.PushName
	}
	n.clients[id] = c
	kept := n.offline[id]
	delete(n.offline, id)
	n.mu.Unlock()
	cn.push(&events.Connected{})
	for _, evt := range kept {
		if !cn.push(evt) {
			n.keep(id, evt)
		}
	}
}

// loggedOut ends a connection whose device was unlinked, deleting its keys as whatsmeow does.
func (c *Client) loggedOut(cn *conn, onConnect bool) {
	c.end(cn, true, step(func() {
		ctx, cancel := withTimeout()
		defer cancel()
		if err := c.deleteDevice(ctx); err != nil {
			c.net.logger.Error("delete unlinked device", "error", err)
		}
	}), &events.LoggedOut{OnConnect: onConnect, Reason: events.ConnectFailureLoggedOut})
}

// deleteDevice deletes the device's keys from its store, which also clears its id.
func (c *Client) deleteDevice(ctx context.Context) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.device.Delete(ctx)
}

// push hands an event to the open connection; false when there is none.
func (c *Client) push(evt any) bool {
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	return cn != nil && cn.push(evt)
}

// end closes a connection if it is still the open one, and forgets it on the network. With
// drain, the events already queued and then last are still handled, once the client no longer
// reports itself connected.
func (c *Client) end(cn *conn, drain bool, last ...any) {
	c.mu.Lock()
	if c.conn != cn {
		c.mu.Unlock()
		return
	}
	c.conn = nil
	id := c.ownIDLocked()
	c.mu.Unlock()
	n := c.net
	n.mu.Lock()
	if n.clients[id] == c {
		delete(n.clients, id)
	}
	for code, p := range n.qrs {
		if p.conn == cn {
			delete(n.qrs, code)
		}
	}
	for code, p := range n.codes {
		if p.conn == cn {
			delete(n.codes, code)
		}
	}
	n.mu.Unlock()
	for _, evt := range last {
		cn.push(evt)
	}
	if left := cn.close(drain); len(left) > 0 && !id.IsEmpty() {
		n.keep(id, left...)
	}
}

// Disconnect closes the connection; nothing more is reported.
func (c *Client) Disconnect() {
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn != nil {
		c.end(cn, false)
	}
}

// drop loses the connection: Disconnected now, Connected again after Options.Reconnect, unless
// the session stopped meanwhile.
func (c *Client) drop() {
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn == nil {
		return
	}
	c.end(cn, true, &events.Disconnected{})
	time.AfterFunc(c.net.opts.Reconnect, func() {
		if c.ctx.Err() == nil {
			if err := c.Connect(); err != nil && !errors.Is(err, whatsmeow.ErrAlreadyConnected) {
				c.net.logger.Warn("reconnect", "error", err)
			}
		}
	})
}

// IsConnected reports whether a connection is open.
func (c *Client) IsConnected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil
}

// IsLoggedIn reports whether the device is connected and paired.
func (c *Client) IsLoggedIn() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.conn != nil && c.device.ID != nil
}

// connected answers the open connection of a paired device, or whatsmeow's error.
func (c *Client) connected() (types.JID, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.device.ID == nil:
		return types.EmptyJID, whatsmeow.ErrNotLoggedIn
	case c.conn == nil:
		return types.EmptyJID, whatsmeow.ErrNotConnected
	}
	return *c.device.ID, nil
}

// Logout unlinks the device from its phone and deletes its keys, as whatsmeow's Logout: the
// connection closes without a LoggedOut event.
func (c *Client) Logout(ctx context.Context) error {
	id, err := c.connected()
	if err != nil {
		return err
	}
	c.net.unlink(id)
	c.Disconnect()
	if err := c.deleteDevice(ctx); err != nil {
		return fmt.Errorf("error deleting data from store: %w", err)
	}
	return nil
}
