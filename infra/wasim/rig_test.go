package wasim

import (
	"context"
	"io"
	"log/slog"
	"reflect"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/session-host/host"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// fast are timings short enough for tests.
var fast = Options{Delivered: 20 * time.Millisecond, Read: 20 * time.Millisecond, Played: 20 * time.Millisecond,
	TypeCode: 10 * time.Millisecond, Redeliver: 20 * time.Millisecond, Reconnect: 20 * time.Millisecond, Logger: quiet}

// rig is a network and a device store of the test's own.
type rig struct {
	t       *testing.T
	net     *Network
	devices *sqlstore.Container
}

func newRig(t *testing.T, o Options) *rig {
	t.Helper()
	devices, err := host.OpenSQLDevices(context.Background(), t.TempDir(), "", quiet)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { devices.Close() })
	return &rig{t: t, net: NewNetwork(o), devices: devices}
}

// recorder is a session's event handler: it keeps every event, and fails while told to. The
// names learnt from messages (events.PushName, events.BusinessName) are kept apart, in names,
// so the tests of what else happens need not expect them.
type recorder struct {
	ch    chan any
	fail  atomic.Int32 // how many more events to fail
	mu    sync.Mutex
	all   []any
	names []any
}

func (r *recorder) handle(evt any) bool {
	switch evt.(type) {
	case *events.PushName, *events.BusinessName:
		r.mu.Lock()
		r.names = append(r.names, evt)
		r.mu.Unlock()
		return true
	}
	if r.fail.Load() > 0 {
		r.fail.Add(-1)
		return false
	}
	r.mu.Lock()
	r.all = append(r.all, evt)
	r.mu.Unlock()
	r.ch <- evt
	return true
}

// learnt answers the names events so far.
func (r *recorder) learnt() []any {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.names)
}

// client makes a client over device (a new one when nil) that records its events.
func (r *rig) client(device *store.Device) (*Client, *recorder) {
	if device == nil {
		device = r.devices.NewDevice()
	}
	rec := &recorder{ch: make(chan any, 1000)}
	ctx, cancel := context.WithCancel(context.Background())
	c := r.net.NewClient(host.ClientOptions{Device: device, Log: waLog.Noop, Context: ctx, Handle: rec.handle})
	r.t.Cleanup(func() {
		cancel()
		c.Disconnect()
	})
	return c, rec
}

// next is the next event, failing after a few seconds without one.
func (r *recorder) next(t *testing.T) any {
	t.Helper()
	select {
	case evt := <-r.ch:
		return evt
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
		return nil
	}
}

// expect reads the next events, which must be of the given types in order.
func (r *recorder) expect(t *testing.T, want ...any) []any {
	t.Helper()
	got := make([]any, len(want))
	for i, w := range want {
		got[i] = r.next(t)
		if reflect.TypeOf(got[i]) != reflect.TypeOf(w) {
			t.Fatalf("event %d is %T %+v, want %T", i, got[i], got[i], w)
		}
	}
	return got
}

// quiet checks no event comes for a while.
func (r *recorder) none(t *testing.T, d time.Duration) {
	t.Helper()
	select {
	case evt := <-r.ch:
		t.Fatalf("unexpected %T %+v", evt, evt)
	case <-time.After(d):
	}
}

// linked is a client connected and paired to number's phone by QR code.
func (r *rig) linked(number string) (*Client, *recorder, types.JID) {
	r.t.Helper()
	c, rec := r.client(nil)
	if err := c.Connect(); err != nil {
		r.t.Fatal(err)
	}
	qr := rec.expect(r.t, &events.QR{})[0].(*events.QR)
	jid, err := r.net.Scan(qr.Codes[0], number)
	if err != nil {
		r.t.Fatal(err)
	}
	rec.expect(r.t, &events.PairSuccess{}, &events.Connected{})
	return c, rec, jid
}
