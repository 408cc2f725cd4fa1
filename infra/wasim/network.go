// Package wasim is a simulated WhatsApp network for the local stack: phones, the devices linked
// to them, groups, and the server between them. Its Client implements host.Client, so the
// session host runs over it unchanged, and everything it reports is whatsmeow's own events,
// converted to webhooks by the same code as real WhatsApp's.
//
// It behaves like WhatsApp wherever wagate can tell: QR codes and pairing codes that link a
// device to a phone, device keys saved through the host's device store, server acks, delivered
// and read receipts after short delays, messages of every kind sent to an account or from its
// phone, and failures. It never opens a socket. It exists only in the local stack and its
// tests: nothing that ships may import it.
package wasim

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// Options tunes a Network's timing. Zero values take WhatsApp-like defaults.
type Options struct {
	// FirstQR is how long the first QR code of a connection lasts (60 s); NextQR each of the
	// following ones (20 s); QRCodes how many codes a connection gets (6). After the last one
	// the server closes the connection.
	FirstQR, NextQR time.Duration
	QRCodes         int
	// TypeCode is how long a phone takes to type in a pairing code it was given (3 s); negative:
	// it never does by itself, only through EnterCode.
	TypeCode time.Duration
	// Delivered is the time from a server ack to the recipient's delivered receipt (1 s), Read
	// from that to the read receipt (2 s), Played from that to the played receipt of a voice or
	// video note (2 s).
	Delivered, Read, Played time.Duration
	// Redeliver is the wait before a message whose handler failed is delivered again (1 s).
	Redeliver time.Duration
	// Reconnect is how long a dropped connection takes to come back (1 s).
	Reconnect time.Duration
	Logger    *slog.Logger
}

func (o *Options) defaults() {
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&o.FirstQR, 60*time.Second)
	def(&o.NextQR, 20*time.Second)
	def(&o.TypeCode, 3*time.Second)
	def(&o.Delivered, time.Second)
	def(&o.Read, 2*time.Second)
	def(&o.Played, 2*time.Second)
	def(&o.Redeliver, time.Second)
	def(&o.Reconnect, time.Second)
	if o.QRCodes == 0 {
		o.QRCodes = 6
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// maxLinkedDevices is how many devices WhatsApp lets a phone link.
const maxLinkedDevices = 4

// Errors of the network's own methods.
var (
	ErrUnknownCode   = errors.New("no device is showing that code")
	ErrCodeExpired   = errors.New("the code has expired")
	ErrTooManyLinked = fmt.Errorf("the phone already has %d linked devices", maxLinkedDevices)
	ErrNotLinked     = errors.New("the device is not linked to any phone")
)

// Network is the simulated WhatsApp: every phone and linked device of one local stack.
type Network struct {
	opts   Options
	logger *slog.Logger

	mu      sync.Mutex
	phones  map[string]*phone
	clients map[types.JID]*Client // connected, paired clients by device JID
	// offline holds what reached a device while it was not connected, in order.
	offline map[types.JID][]any
	// unlinked are devices removed from their phone while they were not connected.
	unlinked map[types.JID]bool
	qrs      map[string]*pending // QR code ref → the connection showing it
	codes    map[string]*pending // pairing code → the connection that asked for it
	groups   map[types.JID]*group
	lists    int             // GetJoinedGroups queries answered
	notOn    map[string]bool // numbers marked not on WhatsApp
	blocked  map[string]bool // numbers that blocked every simulated account
	failNext int
	failErr  error
	down     bool
	sent     []Sent
	reads    []Read
	presence []Presence
	media    map[string][]byte // direct path → plaintext
	files    map[string]*file  // direct path → what the media servers answer
	profiles profiles          // about texts, businesses, hidden pictures (contacts.go)
}

// file is an uploaded file as WhatsApp's media servers keep it: encrypted, with its MAC.
type file struct {
	enc []byte
	// delay holds each download's answer that long (or until the download gives up).
	delay time.Duration
}

// phone is a WhatsApp account's primary device.
type phone struct {
	number   string
	lid      string // the account's LID user part
	pushName string
	identity *keys.KeyPair // signs the identities of the devices it links
	devices  map[uint16]bool
}

type group struct {
	name         string
	participants []string // phone numbers
	// What the group calls keep (groups.go): the first member made it and owns it, even
	// after leaving it.
	owner    string
	admins   map[string]bool
	topic    string
	topicID  string
	announce bool
	locked   bool
	invite   string // the invite code
	created  time.Time
	version  string // the participant list's version

}

// pending is a connection waiting to be linked: by a QR code until expires, or by a pairing
// code typed on phone.
type pending struct {
	client  *Client
	conn    *conn
	expires time.Time
	phone   string
}

// Sent is a message the network accepted from a device.
type Sent struct {
	ID      types.MessageID
	Chat    types.JID // the recipient or group
	Sender  types.JID // the device that sent it
	Message *waE2E.Message
	At      time.Time
}

// Read is a read receipt a device sent.
type Read struct {
	Chat, Sender types.JID
	IDs          []types.MessageID
	At           time.Time
	Type         types.ReceiptType
}

// Presence is a chat presence a device sent.
type Presence struct {
	Chat  types.JID
	State types.ChatPresence
	Media types.ChatPresenceMedia
	At    time.Time
}

// NewNetwork returns an empty network.
func NewNetwork(o Options) *Network {
	o.defaults()
	return &Network{
		opts: o, logger: o.Logger.With("component", "wasim"),
		phones: map[string]*phone{}, clients: map[types.JID]*Client{}, offline: map[types.JID][]any{},
		unlinked: map[types.JID]bool{}, qrs: map[string]*pending{}, codes: map[string]*pending{},
		groups: map[types.JID]*group{}, notOn: map[string]bool{}, blocked: map[string]bool{},
		media: map[string][]byte{}, files: map[string]*file{},
	}
}

// now is the server's time: WhatsApp's timestamps are whole seconds.
func now() time.Time { return time.Unix(time.Now().Unix(), 0) }

// digits keeps the digits of a phone number, as WhatsApp reads one.
func digits(number string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, number)
}

// validNumber reports whether number is a phone number WhatsApp accepts at all: international,
// 7 to 15 digits.
func validNumber(number string) bool {
	return len(number) >= 7 && len(number) <= 15 && number[0] != '0'
}

// IsOnWhatsApp reports whether a number has a WhatsApp account here: every valid number does,
// except those starting with 999 and those marked with SetOnWhatsApp.
func (n *Network) IsOnWhatsApp(number string) bool {
	number = digits(number)
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.onWhatsApp(number)
}

func (n *Network) onWhatsApp(number string) bool {
	return validNumber(number) && !strings.HasPrefix(number, "999") && !n.notOn[number]
}

// SetOnWhatsApp marks a number as having a WhatsApp account or not.
func (n *Network) SetOnWhatsApp(number string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.notOn[digits(number)] = !on
}

// Block makes a number block every simulated account: WhatsApp still accepts messages to it,
// but they are never delivered, so no receipt ever comes.
func (n *Network) Block(number string, blocked bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.blocked[digits(number)] = blocked
}

// phoneLocked returns the account of a number, creating it on first use.
func (n *Network) phoneLocked(number string) *phone {
	p, ok := n.phones[number]
	if !ok {
		p = &phone{number: number, lid: lidFor(number), pushName: "+" + number, identity: keys.NewKeyPair(), devices: map[uint16]bool{}}
		n.phones[number] = p
	}
	return p
}

// lidFor makes up the 15-digit LID WhatsApp would give a number.
func lidFor(number string) string {
	b := make([]byte, 15)
	rand.Read(b)
	for i := range b {
		b[i] = '0' + b[i]%10
	}
	b[0] = '1' + b[0]%9
	return string(b)
}

// SetPushName sets the name a phone's account shows to others.
func (n *Network) SetPushName(number, name string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.phoneLocked(digits(number)).pushName = name
}

func (n *Network) pushName(number string) string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.phoneLocked(number).pushName
}

// CreateGroup makes a group with the given members and returns its JID.
func (n *Network) CreateGroup(name string, members ...string) types.JID {
	b := make([]byte, 8)
	rand.Read(b)
	id := "120363"
	for _, c := range b {
		id += fmt.Sprintf("%02d", c%100)
	}
	jid := types.NewJID(id[:18], types.GroupServer)
	g := &group{name: name}
	for _, m := range members {
		g.participants = append(g.participants, digits(m))
	}
	if len(g.participants) > 0 {
		g.owner = g.participants[0]
	}
	n.mu.Lock()
	n.groups[jid] = g
	n.mu.Unlock()
	return jid
}

// Participants answers a group's members, false if there is no such group.
func (n *Network) Participants(jid types.JID) ([]string, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	g, ok := n.groups[jid]
	if !ok {
		return nil, false
	}
	return slices.Clone(g.participants), true
}

// FailSends makes the next count sends fail with err, a transient server error when nil.
func (n *Network) FailSends(count int, err error) {
	if err == nil {
		err = fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 500)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.failNext, n.failErr = count, err
}

// SetDown takes the server down or brings it back: while down, sends time out and new
// connections fail.
func (n *Network) SetDown(down bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.down = down
}

// Sent answers every message the network accepted from the devices of account (a phone's JID,
// any device part ignored), or from every device when account is empty, in order.
func (n *Network) Sent(account types.JID) []Sent {
	n.mu.Lock()
	defer n.mu.Unlock()
	var out []Sent
	for _, s := range n.sent {
		if account.IsEmpty() || s.Sender.User == account.User {
			out = append(out, s)
		}
	}
	return out
}

// Reads answers the read receipts devices sent, in order.
func (n *Network) Reads() []Read {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.reads)
}

// Presences answers the chat presences devices sent, in order.
func (n *Network) Presences() []Presence {
	n.mu.Lock()
	defer n.mu.Unlock()
	return slices.Clone(n.presence)
}

// Media answers the plaintext of a file uploaded to the network, by its direct path.
func (n *Network) Media(directPath string) ([]byte, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	b, ok := n.media[directPath]
	return b, ok
}

// deliver hands an event to a device: to its connection when it has one, else kept until it
// connects.
func (n *Network) deliver(device types.JID, evt any) {
	n.mu.Lock()
	c, ok := n.clients[device]
	if !ok {
		n.offline[device] = append(n.offline[device], evt)
		n.mu.Unlock()
		return
	}
	n.mu.Unlock()
	if !c.push(evt) {
		n.keep(device, evt)
	}
}

// keep puts events back for a device that lost its connection before handling them.
func (n *Network) keep(device types.JID, evts ...any) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.offline[device] = append(slices.Clone(evts), n.offline[device]...)
}

// devicesOf answers the linked devices of a number.
func (n *Network) devicesOf(number string) []types.JID {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.phones[number]
	if !ok {
		return nil
	}
	var out []types.JID
	for d := range p.devices {
		out = append(out, types.JID{User: number, Device: d, Server: types.DefaultUserServer})
	}
	slices.SortFunc(out, func(a, b types.JID) int { return int(a.Device) - int(b.Device) })
	return out
}

// Linked reports whether a device is linked to its phone here.
func (n *Network) Linked(device types.JID) bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	p, ok := n.phones[device.User]
	return ok && p.devices[device.Device]
}

// Drop cuts a device's connection as a network failure would: it sees events.Disconnected and
// connects again by itself after Options.Reconnect, as whatsmeow does, seeing events.Connected.
func (n *Network) Drop(device types.JID) error {
	n.mu.Lock()
	c, ok := n.clients[device]
	n.mu.Unlock()
	if !ok {
		return fmt.Errorf("drop %s: %w", device, whatsmeow.ErrNotConnected)
	}
	c.drop()
	return nil
}

// withTimeout bounds the work done on behalf of a device.
func withTimeout() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), 10*time.Second)
}
