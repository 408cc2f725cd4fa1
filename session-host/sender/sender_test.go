package sender

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"golang.org/x/sync/semaphore"

	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/webhook"
)

// A burst goes at the pace: between hand-overs, a minute over PerMinute plus the jitter.
func TestPace(t *testing.T) {
	for _, pace := range []outbox.Pace{outbox.DefaultPace, {PerMinute: 120, JitterMs: 0}, {PerMinute: 7, JitterMs: 10_000}} {
		t.Run(pace.String(), func(t *testing.T) {
			var recs []*outbox.Record
			for i := range 100 {
				recs = append(recs, text(fmt.Sprintf("m%03d", i), chatJID(i%5), int64(i/5+1), time.Duration(i)*time.Millisecond))
			}
			r := newRig(t, pace, recs...)
			r.run()
			eventually(t, r.settled)
			calls := r.client.sends()
			if len(calls) != 100 {
				t.Fatalf("%d sends, want 100", len(calls))
			}
			// Random is 0.25, a jitter within [0, JitterMs].
			want := time.Minute/time.Duration(pace.PerMinute) + time.Duration(pace.JitterMs)*time.Millisecond/4
			for i := 1; i < len(calls); i++ {
				if gap := calls[i].at.Sub(calls[i-1].at); gap != want {
					t.Fatalf("gap before send %d: %s, want %s", i, gap, want)
				}
			}
			if span := calls[99].at.Sub(calls[0].at); span != 99*want {
				t.Fatalf("100 messages went in %s, want %s", span, 99*want)
			}
		})
	}
}

// A chat's messages leave in Seq order; one waiting for its retry holds its chat and no other.
func TestChatOrderAndTransientRetry(t *testing.T) {
	r := newRig(t, noPace,
		text("a1", chatJID(1), 1, 0), text("b1", chatJID(2), 1, 1), text("a2", chatJID(1), 2, 2),
		text("b2", chatJID(2), 2, 3), text("c1", chatJID(3), 1, 4), text("a3", chatJID(1), 3, 5))
	r.client.sendErr = func(id string, n int) error {
		if id == "a1" && n <= 2 {
			return whatsmeow.ErrNotConnected
		}
		return nil
	}
	r.run()
	eventually(t, r.settled)
	var order []string
	for _, c := range r.client.sends() {
		order = append(order, c.id)
	}
	// a1 fails at once and again 5 s later, then 30 s after that; the gap is 0.5 s.
	want := []string{"a1", "b1", "b2", "c1", "a1", "a1", "a2", "a3"}
	if !slices.Equal(order, want) {
		t.Fatalf("sent %v, want %v", order, want)
	}
	a1 := r.store.get(t, "a1")
	if a1.Status != outbox.StatusSent || a1.Attempts != 3 || a1.NextAttemptAt != nil {
		t.Fatalf("a1: %+v, want sent after 3 attempts", a1)
	}
	calls := r.client.sends()
	if retry := calls[5].at.Sub(calls[4].at); retry < 30*time.Second {
		t.Fatalf("second retry %s after the first, want the 30 s backoff", retry)
	}
	for _, c := range calls {
		if c.id == "a1" && c.msg.GetConversation() != "hello a1" {
			t.Fatalf("a1 sent as %v", c.msg)
		}
	}
}

func TestPermanentFailures(t *testing.T) {
	group := "120363000000000001@g.us"
	for _, tc := range []struct {
		name   string
		rec    func() *outbox.Record
		setup  func(*rig)
		reason string
	}{
		{"not on WhatsApp", func() *outbox.Record { return text("m", chatJID(1), 1, 0) },
			func(r *rig) { r.client.notOn["6281200000001"] = true }, "not on WhatsApp"},
		{"blocked", func() *outbox.Record { return text("m", chatJID(1), 1, 0) },
			func(r *rig) {
				r.client.sendErr = func(string, int) error { return fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 403) }
			}, "refused the message (error 403)"},
		{"link refused", func() *outbox.Record {
			rec := text("m", chatJID(1), 1, 0)
			rec.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeImage, Media: &outbox.Media{Link: "https://10.0.0.1/a.png"}}
			return rec
		}, func(r *rig) { r.sender.media = fakeFetcher{err: permanent("media link: destination refused")} }, "destination refused"},
		{"upload gone", func() *outbox.Record {
			rec := text("m", chatJID(1), 1, 0)
			rec.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeImage, Media: &outbox.Media{MediaID: "up_gone"}}
			return rec
		}, func(r *rig) { r.sender.uploads = fakeUploads{} }, "upload up_gone is gone"},
		{"uploads without a bucket", func() *outbox.Record {
			rec := text("m", chatJID(1), 1, 0)
			rec.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeImage, Media: &outbox.Media{MediaID: "up_x"}}
			return rec
		}, nil, "no MEDIA_BUCKET"},
		{"wrong media type", func() *outbox.Record {
			rec := text("m", chatJID(1), 1, 0)
			rec.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeVideo, Media: &outbox.Media{Data: []byte("<html>")}}
			return rec
		}, nil, "not video"},
		{"reaction in a group to an unknown message", func() *outbox.Record {
			rec := text("m", group, 1, 0)
			rec.Message = &outbox.Message{Chat: group, Type: outbox.TypeReaction, Reaction: &outbox.Reaction{MessageID: "3EB0FFFF", Emoji: "👍"}}
			return rec
		}, nil, "sender is unknown"},
		{"time to live passed", func() *outbox.Record {
			rec := text("m", chatJID(1), 1, 0)
			rec.ExpiresAt = epoch.Add(-time.Second)
			return rec
		}, nil, "time to live passed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := newRig(t, noPace, tc.rec())
			if tc.setup != nil {
				tc.setup(r)
			}
			r.run()
			eventually(t, r.settled)
			got := r.store.get(t, "m")
			if got.Status != outbox.StatusFailed || !strings.Contains(got.Error, tc.reason) {
				t.Fatalf("record %s %q, want failed with %q", got.Status, got.Error, tc.reason)
			}
			eventually(t, func() error {
				if f := r.events.failures(); len(f) != 1 || f[0].MessageID != "m" || f[0].Reason != got.Error || f[0].Chat.String() != got.Message.Chat {
					return fmt.Errorf("failures published: %+v", f)
				}
				return nil
			})
		})
	}
}

// A disconnected instance queues; its messages go once it is connected again.
func TestWaitsForConnection(t *testing.T) {
	r := newRig(t, noPace, text("m1", chatJID(1), 1, 0), text("m2", chatJID(2), 1, 1))
	r.clock.horizon = time.Hour // the time to live does not pass in this test
	r.client.setConnected(false)
	r.run()
	time.Sleep(50 * time.Millisecond)
	if n := len(r.client.sends()); n > 0 {
		t.Fatalf("%d sends while disconnected", n)
	}
	r.client.setConnected(true)
	r.sender.Wake(nil) // as the Connected event does
	eventually(t, r.settled)
	if n := len(r.client.sends()); n != 2 {
		t.Fatalf("%d sends, want 2", n)
	}
}

// An acknowledged message whose status cannot be written while the store is down is written
// later, and never sent again.
func TestAckThenStoreDown(t *testing.T) {
	r := newRig(t, noPace, text("m1", chatJID(1), 1, 0), text("m2", chatJID(1), 2, 1))
	down := 4
	r.store.failUpdate = func(_, next *outbox.Record) error {
		if next.Status == outbox.StatusSent && down > 0 {
			down--
			return errors.New("dynamodb: connection refused")
		}
		return nil
	}
	r.run()
	eventually(t, r.settled)
	var ids []string
	for _, c := range r.client.sends() {
		ids = append(ids, c.id)
	}
	if !slices.Equal(ids, []string{"m1", "m2"}) {
		t.Fatalf("sent %v, want m1 once then m2", ids)
	}
	m1 := r.store.get(t, "m1")
	if m1.Status != outbox.StatusSent || m1.SentAt == nil || !m1.SentAt.Equal(epoch) || m1.Attempts != 1 {
		t.Fatalf("m1: %+v, want sent at %v after one attempt", m1, epoch)
	}
	eventually(t, func() error {
		if n := r.events.count(); n != 2 {
			return fmt.Errorf("%d events, want the two message.sent", n)
		}
		return nil
	})
	evt := r.events.evts[0].(Sent).Message
	if evt.Info.ID != "m1" || !evt.Info.IsFromMe || evt.Info.Sender != ownJID || !evt.Info.Timestamp.Equal(epoch) || evt.Message.GetConversation() != "hello m1" {
		t.Fatalf("message.sent event %+v", evt.Info)
	}
}

// Once the session's context ends (its lease lost), nothing more is handed to WhatsApp.
func TestNoSendAfterCancel(t *testing.T) {
	var recs []*outbox.Record
	for i := range 20 {
		recs = append(recs, text(fmt.Sprintf("m%02d", i), chatJID(i%3), int64(i/3+1), time.Duration(i)))
	}
	r := newRig(t, noPace, recs...)
	ctx, cancel := context.WithCancel(context.Background())
	r.client.onSend = func(n int) {
		if n == 5 {
			cancel() // the lease is lost while the fifth is on its way
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.sender.Run(ctx)
	}()
	<-done
	if n := len(r.client.sends()); n != 5 {
		t.Fatalf("%d sends, want the 5 before the cancel", n)
	}
}

// A message a dead host left sending is sent again, with its id, as one more attempt.
func TestResumesSending(t *testing.T) {
	left := text("m1", chatJID(1), 1, 0)
	left.Status, left.Attempts, left.Version = outbox.StatusSending, 1, 2
	r := newRig(t, noPace, left)
	r.run()
	eventually(t, r.settled)
	if calls := r.client.sends(); len(calls) != 1 || calls[0].id != "m1" {
		t.Fatalf("sends %v", calls)
	}
	if got := r.store.get(t, "m1"); got.Status != outbox.StatusSent || got.Attempts != 2 {
		t.Fatalf("m1 %s after %d attempts, want sent after 2", got.Status, got.Attempts)
	}
}

// Receipts move a sent message forward and never back; others' messages are left alone.
func TestReceipts(t *testing.T) {
	rec := text("m1", chatJID(1), 1, 0)
	rec.Status = outbox.StatusSent
	r := newRig(t, noPace, rec)
	r.run()
	receipt := func(typ types.ReceiptType, fromMe bool, ids ...string) {
		e := &events.Receipt{MessageIDs: ids, Type: typ}
		e.IsFromMe = fromMe
		r.sender.Receipt(e)
	}
	status := func(want outbox.Status) {
		t.Helper()
		eventually(t, func() error {
			if got := r.store.get(t, "m1").Status; got != want {
				return fmt.Errorf("status %s, want %s", got, want)
			}
			return nil
		})
	}
	receipt(types.ReceiptTypeDelivered, false, "m1", "from-the-phone")
	status(outbox.StatusDelivered)
	receipt(types.ReceiptTypeReadSelf, true, "m1") // this account's own read
	receipt(types.ReceiptTypeRead, false, "m1")
	status(outbox.StatusRead)
	receipt(types.ReceiptTypeDelivered, false, "m1") // late
	receipt(types.ReceiptTypePlayed, false, "m1")
	status(outbox.StatusPlayed)
	receipt(types.ReceiptTypeRead, false, "m1")
	time.Sleep(20 * time.Millisecond)
	status(outbox.StatusPlayed)
}

// Messages that are not paced go at once, past a paced burst and its chat's queue.
func TestUnpacedGoAtOnce(t *testing.T) {
	var recs []*outbox.Record
	for i := range 5 {
		recs = append(recs, text(fmt.Sprintf("m%d", i), chatJID(1), int64(i+1), time.Duration(i)))
	}
	react := text("r", chatJID(1), 6, 10)
	react.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeReaction, Reaction: &outbox.Reaction{MessageID: "m0", Emoji: "👍"}}
	r := newRig(t, outbox.DefaultPace, append(recs, react)...)
	r.sender.paced = func(t outbox.Type) bool { return t != outbox.TypeReaction }
	r.run()
	eventually(t, r.settled)
	calls := r.client.sends()
	if calls[0].id != "r" || !calls[1].at.Equal(calls[0].at) {
		t.Fatalf("reaction sent %v, want it first, at once", calls)
	}
	// The reaction is to a message of the outbox: this account's own.
	if key := calls[0].msg.GetReactionMessage().GetKey(); !key.GetFromMe() {
		t.Fatalf("reaction key %v, want it from this account", key)
	}
}

// A poll is the same poll on every attempt, from any host with the device's keys.
func TestPollSecretIsStable(t *testing.T) {
	poll := text("p1", chatJID(1), 1, 0)
	poll.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypePoll, Poll: &outbox.Poll{Name: "lunch?", Options: []string{"yes", "no"}, SelectableCount: 1}}
	r := newRig(t, noPace, poll)
	r.client.sendErr = func(_ string, n int) error {
		if n == 1 {
			return context.DeadlineExceeded
		}
		return nil
	}
	r.run()
	eventually(t, r.settled)
	calls := r.client.sends()
	if len(calls) != 2 {
		t.Fatalf("%d sends, want 2", len(calls))
	}
	a, b := calls[0].msg.GetMessageContextInfo().GetMessageSecret(), calls[1].msg.GetMessageContextInfo().GetMessageSecret()
	if len(a) != 32 || !bytes.Equal(a, b) || !bytes.Equal(a, PollSecret(PollKey([]byte("identity")), "p1")) {
		t.Fatalf("secrets %x and %x", a, b)
	}
	if bytes.Equal(PollSecret(PollKey([]byte("identity")), "p2"), a) || bytes.Equal(PollSecret(PollKey([]byte("other")), "p1"), a) {
		t.Fatal("secret does not depend on the message and the device")
	}
}

func TestClassifySend(t *testing.T) {
	for _, tc := range []struct {
		err       error
		permanent bool
	}{
		{fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 403), true},
		{fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 429), false},
		{fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 500), false},
		{whatsmeow.ErrNotConnected, false},
		{whatsmeow.ErrMessageTimedOut, false},
		{fmt.Errorf("get group info: %w", whatsmeow.ErrNotInGroup), true},
		{webhook.Errorf(webhook.EUnavailable, "x"), false},
	} {
		t.Run(tc.err.Error(), func(t *testing.T) {
			var p *permanentError
			if got := errors.As(classifySend(tc.err), &p); got != tc.permanent {
				t.Fatalf("permanent %v, want %v", got, tc.permanent)
			}
		})
	}
}

// Edits and revokes go as messages about a message this outbox sent, within WhatsApp's
// windows; read receipts and presence are no messages, go at once, and publish no
// message.sent.
func TestActions(t *testing.T) {
	sentAt := func(ago time.Duration) *outbox.Record {
		rec := text("target", chatJID(1), 1, -time.Hour)
		rec.Status = outbox.StatusSent
		at := epoch.Add(-ago)
		rec.SentAt = &at
		return rec
	}
	action := func(m *outbox.Message) *outbox.Record {
		rec := text("action", chatJID(1), 2, 0)
		m.Chat = chatJID(1)
		rec.Message = m
		return rec
	}
	for _, tc := range []struct {
		name   string
		target *outbox.Record
		action *outbox.Record
		// check looks at what the client was asked; "" reason means the action is sent.
		check  func(t *testing.T, r *rig)
		reason string
	}{
		{"edit within the window", sentAt(10 * time.Minute),
			action(&outbox.Message{Type: outbox.TypeEdit, Edit: &outbox.Edit{MessageID: "target", Text: "fixed"}}),
			func(t *testing.T, r *rig) {
				pm := r.client.sends()[0].msg.GetEditedMessage().GetMessage().GetProtocolMessage()
				if pm.GetKey().GetID() != "target" || pm.GetEditedMessage().GetConversation() != "fixed" {
					t.Fatalf("edit sent as %v", pm)
				}
			}, ""},
		{"edit after the window", sentAt(21 * time.Minute),
			action(&outbox.Message{Type: outbox.TypeEdit, Edit: &outbox.Edit{MessageID: "target", Text: "fixed"}}),
			nil, "WhatsApp lets a message be"},
		{"edit of a message not in the outbox", nil,
			action(&outbox.Message{Type: outbox.TypeEdit, Edit: &outbox.Edit{MessageID: "target", Text: "fixed"}}),
			nil, "not in this instance's outbox"},
		{"revoke", sentAt(time.Hour),
			action(&outbox.Message{Type: outbox.TypeRevoke, Revoke: &outbox.Revoke{MessageID: "target"}}),
			func(t *testing.T, r *rig) {
				pm := r.client.sends()[0].msg.GetProtocolMessage()
				if pm.GetType() != waE2E.ProtocolMessage_REVOKE || pm.GetKey().GetID() != "target" || !pm.GetKey().GetFromMe() {
					t.Fatalf("revoke sent as %v", pm)
				}
			}, ""},
		{"revoke after the window", sentAt(49 * time.Hour),
			action(&outbox.Message{Type: outbox.TypeRevoke, Revoke: &outbox.Revoke{MessageID: "target"}}),
			nil, "WhatsApp lets a message be"},
		{"read", nil,
			action(&outbox.Message{Type: outbox.TypeRead, Read: &outbox.Read{MessageIDs: []string{"A1", "A2"}}}),
			func(t *testing.T, r *rig) {
				if len(r.client.sends()) != 0 || !slices.Equal(r.client.reads[0], []string{chatJID(1), "", "A1", "A2"}) {
					t.Fatalf("sends %v, reads %v", r.client.sends(), r.client.reads)
				}
			}, ""},
		{"recording", nil,
			action(&outbox.Message{Type: outbox.TypePresence, Presence: &outbox.Presence{State: outbox.PresenceRecording}}),
			func(t *testing.T, r *rig) {
				if len(r.client.sends()) != 0 || r.client.lastPresence != [2]string{"composing", "audio"} {
					t.Fatalf("sends %v, presence %v", r.client.sends(), r.client.lastPresence)
				}
			}, ""},
		{"paused", nil,
			action(&outbox.Message{Type: outbox.TypePresence, Presence: &outbox.Presence{State: outbox.PresencePaused}}),
			func(t *testing.T, r *rig) {
				if r.client.lastPresence[0] != "paused" {
					t.Fatalf("presence %v", r.client.lastPresence)
				}
			}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			recs := []*outbox.Record{tc.action}
			if tc.target != nil {
				recs = append(recs, tc.target)
			}
			r := newRig(t, noPace, recs...)
			r.run()
			eventually(t, r.settled)
			got := r.store.get(t, "action")
			if tc.reason != "" {
				if got.Status != outbox.StatusFailed || !strings.Contains(got.Error, tc.reason) {
					t.Fatalf("action %s %q, want failed with %q", got.Status, got.Error, tc.reason)
				}
				return
			}
			if got.Status != outbox.StatusSent || got.SentAt == nil {
				t.Fatalf("action %s, sent at %v", got.Status, got.SentAt)
			}
			tc.check(t, r)
			// Only what went as a message is a message.sent.
			r.stop()
			var messages int
			for _, evt := range r.events.evts {
				if _, ok := evt.(Sent); ok {
					messages++
				}
			}
			if want := len(r.client.sends()); messages != want {
				t.Fatalf("%d message.sent events for %d messages sent", messages, want)
			}
		})
	}
}

// With the outbox's own rule, a read receipt and a presence go ahead of a chat's queue and
// outside the pace.
func TestReadAndPresenceSkipTheQueue(t *testing.T) {
	var recs []*outbox.Record
	for i := range 3 {
		recs = append(recs, text(fmt.Sprintf("m%d", i), chatJID(1), int64(i+1), time.Duration(i)))
	}
	read := text("read", chatJID(1), 4, 10)
	read.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeRead, Read: &outbox.Read{MessageIDs: []string{"A1"}}}
	r := newRig(t, outbox.DefaultPace, append(recs, read)...)
	r.sender.paced = outbox.Type.Paced
	r.run()
	eventually(t, r.settled)
	readAt, firstAt := r.store.get(t, "read").SentAt, r.store.get(t, "m0").SentAt
	if readAt == nil || firstAt == nil || readAt.After(*firstAt) {
		t.Fatalf("read receipt sent at %v, the chat's first message at %v; want the receipt first", readAt, firstAt)
	}
}

// Fetched media counts against the host's budget: while other senders hold all of it, a link
// message waits (and is not failed), and goes once room is made.
func TestMediaWaitsForTheHostsBudget(t *testing.T) {
	rec := text("img", chatJID(1), 1, 0)
	rec.Message = &outbox.Message{Chat: chatJID(1), Type: outbox.TypeImage, Media: &outbox.Media{Link: "https://example.com/a.png"}}
	r := newRig(t, noPace, rec)
	budget := semaphore.NewWeighted(MediaBudget)
	if err := budget.Acquire(context.Background(), MediaBudget); err != nil { // others hold it all
		t.Fatal(err)
	}
	r.sender.budget = budget
	r.run()
	eventually(t, func() error {
		if got := r.store.get(t, "img"); got.Status != outbox.StatusSending || got.Attempts != 1 {
			return fmt.Errorf("image %s after %d attempts, want waiting in its first", got.Status, got.Attempts)
		}
		return nil
	})
	if n := len(r.client.sends()); n != 0 {
		t.Fatalf("%d sends with no room for the file", n)
	}
	budget.Release(MediaBudget)
	eventually(t, r.settled)
	if got := r.store.get(t, "img"); got.Status != outbox.StatusSent || got.Attempts != 1 {
		t.Fatalf("image %s after %d attempts, want sent at its first", got.Status, got.Attempts)
	}
	// Its room is given back.
	if !budget.TryAcquire(MediaBudget) {
		t.Fatal("the sender kept its share of the budget")
	}
}

// One chat whose head waits for its retry holds back only that chat, even when it fills the
// whole first read of pending messages: the sender reads further and sends the other chats'.
func TestBusyChatDoesNotHoldTheOthers(t *testing.T) {
	var recs []*outbox.Record
	for i := range pendingLimit + 20 {
		recs = append(recs, text(fmt.Sprintf("a%03d", i), chatJID(1), int64(i+1), time.Duration(i)))
	}
	recs = append(recs, text("b", chatJID(2), 1, time.Hour)) // accepted after all of chat 1
	r := newRig(t, noPace, recs...)
	r.clock.horizon = time.Minute // a000 fails every time: its retries soon wait longer than the test
	r.client.sendErr = func(id string, _ int) error {
		if id == "a000" {
			return errors.New("connection reset") // transient: a000 waits for its retry
		}
		return nil
	}
	r.run()
	eventually(t, func() error {
		if got := r.store.get(t, "b"); got.Status != outbox.StatusSent {
			return fmt.Errorf("chat 2's message is %s behind chat 1's stuck head", got.Status)
		}
		return nil
	})
	for _, s := range r.client.sends() {
		if s.chat == chatJID(1) && s.id != "a000" {
			t.Fatalf("chat 1's %s went before its head", s.id)
		}
	}
}
