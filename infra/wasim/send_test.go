package wasim

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"

	"github.com/wagate/wagate/session-host/convert"
)

var (
	ctx   = context.Background()
	alice = types.NewJID("6281234567890", types.DefaultUserServer)
	hello = &waE2E.Message{Conversation: proto.String("Hello")}
)

// update is the data of the message.updated a receipt converts to.
type update struct{ MessageID, ChatID, Status, By string }

func receiptUpdate(t *testing.T, evt any) update {
	t.Helper()
	r, ok := evt.(*events.Receipt)
	if !ok {
		t.Fatalf("%T, want a receipt", evt)
	}
	datas := convert.Receipt(r)
	if len(datas) != 1 {
		t.Fatalf("receipt converts to %d events", len(datas))
	}
	var u update
	json.Unmarshal(datas[0], &u)
	return u
}

func TestSendAckThenReceipts(t *testing.T) {
	r := newRig(t, fast)
	c, rec, me := r.linked("6283841581033")
	tests := []struct {
		name     string
		msg      *waE2E.Message
		statuses []string
	}{
		{"text", hello, []string{"delivered", "read"}},
		{"voice note", &waE2E.Message{AudioMessage: &waE2E.AudioMessage{PTT: proto.Bool(true)}}, []string{"delivered", "read", "played"}},
		{"video note", &waE2E.Message{PtvMessage: &waE2E.VideoMessage{}}, []string{"delivered", "read", "played"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := time.Now().Truncate(time.Second)
			resp, err := c.SendMessage(ctx, alice, tt.msg, whatsmeow.SendRequestExtra{ID: "3EB0AAAA" + strings.ToUpper(tt.name[:2])})
			if err != nil {
				t.Fatal(err)
			}
			if resp.ID != "3EB0AAAA"+strings.ToUpper(tt.name[:2]) || resp.Timestamp.Before(before) || resp.Sender != me {
				t.Fatalf("response %+v", resp)
			}
			for _, status := range tt.statuses {
				u := receiptUpdate(t, rec.next(t))
				if u != (update{resp.ID, alice.String(), status, alice.String()}) {
					t.Fatalf("%s: %+v", status, u)
				}
			}
			rec.none(t, 60*time.Millisecond)
		})
	}
	t.Run("generated id", func(t *testing.T) {
		resp, err := c.SendMessage(ctx, alice, hello)
		if err != nil || !strings.HasPrefix(resp.ID, "3EB0") || len(resp.ID) != 22 {
			t.Fatalf("%+v %v", resp, err)
		}
		rec.expect(t, &events.Receipt{}, &events.Receipt{})
	})
	t.Run("no receipts for reactions, edits and revokes", func(t *testing.T) {
		for _, m := range []*waE2E.Message{
			c.BuildReaction(alice, alice, "X", "👍"), c.BuildEdit(alice, "X", hello), c.BuildRevoke(alice, me, "X"),
		} {
			if _, err := c.SendMessage(ctx, alice, m); err != nil {
				t.Fatal(err)
			}
		}
		rec.none(t, 100*time.Millisecond)
	})
	// The network kept every message, in order, duplicates included.
	sent := r.net.Sent(me)
	if len(sent) != 7 || sent[0].ID != "3EB0AAAATE" || sent[0].Chat != alice || sent[0].Sender != me || !proto.Equal(sent[0].Message, hello) {
		t.Fatalf("sent %+v", sent)
	}
}

func TestGroupReceiptsPerParticipant(t *testing.T) {
	r := newRig(t, fast)
	c, rec, me := r.linked("6283841581033")
	members := []string{"6281234567890", "6281234567891", "6281234567892"}
	group := r.net.CreateGroup("Team", append([]string{me.User}, members...)...)
	resp, err := c.SendMessage(ctx, group, hello)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string][]string{}
	for range 2 * len(members) {
		evt := rec.next(t)
		if src := evt.(*events.Receipt).MessageSource; !src.IsGroup || src.IsFromMe || src.Chat != group {
			t.Fatalf("source %+v", src)
		}
		u := receiptUpdate(t, evt)
		if u.ChatID != group.String() || u.MessageID != resp.ID {
			t.Fatalf("update %+v", u)
		}
		seen[u.By] = append(seen[u.By], u.Status)
	}
	for _, m := range members {
		if got := strings.Join(seen[m+"@s.whatsapp.net"], ","); got != "delivered,read" {
			t.Errorf("%s: %s", m, got)
		}
	}
	if _, err := c.SendMessage(ctx, types.NewJID("120363000000000000", types.GroupServer), hello); !errors.Is(err, whatsmeow.ErrIQNotFound) {
		t.Fatalf("unknown group: %v", err)
	}
}

func TestSendFailures(t *testing.T) {
	r := newRig(t, fast)
	c, rec, me := r.linked("6283841581033")
	unpaired, _ := r.client(nil)
	transient := errors.New("transient")

	if _, err := unpaired.SendMessage(ctx, alice, hello); !errors.Is(err, whatsmeow.ErrNotLoggedIn) {
		t.Errorf("unpaired: %v", err)
	}
	if _, err := c.SendMessage(ctx, types.JID{User: alice.User, Device: 2, Server: types.DefaultUserServer}, hello); !errors.Is(err, whatsmeow.ErrRecipientADJID) {
		t.Errorf("device recipient: %v", err)
	}
	t.Run("not on WhatsApp", func(t *testing.T) {
		r.net.SetOnWhatsApp("6281111111111", false)
		for _, to := range []string{"99912345678", "6281111111111"} {
			if _, err := c.SendMessage(ctx, types.NewJID(to, types.DefaultUserServer), hello); !errors.Is(err, whatsmeow.ErrServerReturnedError) {
				t.Errorf("%s: %v", to, err)
			}
		}
		got, err := c.IsOnWhatsApp(ctx, []string{"+6281234567890", "+99912345678", "+6281111111111", "12"})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || !got[0].IsIn || got[1].IsIn || got[2].IsIn || got[0].JID != alice || got[0].Query != "+6281234567890" {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("next sends fail", func(t *testing.T) {
		r.net.FailSends(2, transient)
		for i := range 2 {
			if _, err := c.SendMessage(ctx, alice, hello); !errors.Is(err, transient) {
				t.Fatalf("send %d: %v", i, err)
			}
		}
		if _, err := c.SendMessage(ctx, alice, hello); err != nil {
			t.Fatal(err)
		}
		rec.expect(t, &events.Receipt{}, &events.Receipt{})
	})
	t.Run("network down", func(t *testing.T) {
		r.net.SetDown(true)
		if _, err := c.SendMessage(ctx, alice, hello); !errors.Is(err, whatsmeow.ErrMessageTimedOut) {
			t.Fatalf("down: %v", err)
		}
		r.net.SetDown(false)
		if _, err := c.SendMessage(ctx, alice, hello); err != nil {
			t.Fatal(err)
		}
		rec.expect(t, &events.Receipt{}, &events.Receipt{})
	})
	t.Run("blocked", func(t *testing.T) {
		r.net.Block(alice.User, true)
		defer r.net.Block(alice.User, false)
		if _, err := c.SendMessage(ctx, alice, hello); err != nil {
			t.Fatal(err)
		}
		rec.none(t, 100*time.Millisecond)
	})
	t.Run("disconnected", func(t *testing.T) {
		c.Disconnect()
		if _, err := c.SendMessage(ctx, alice, hello); !errors.Is(err, whatsmeow.ErrNotConnected) {
			t.Fatalf("disconnected: %v", err)
		}
	})
	if n := len(r.net.Sent(me)); n != 3 {
		t.Fatalf("%d accepted", n)
	}
}

func TestUploadMarkReadPresence(t *testing.T) {
	r := newRig(t, fast)
	c, _, _ := r.linked("6283841581033")
	file := bytes.Repeat([]byte("wagate"), 1000)
	up, err := c.Upload(ctx, file, whatsmeow.MediaImage)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(file)
	if !bytes.Equal(up.FileSHA256, sum[:]) || up.FileLength != uint64(len(file)) || len(up.MediaKey) != 32 ||
		len(up.FileEncSHA256) != 32 || !strings.HasPrefix(up.URL, "https://mmg.whatsapp.net/v/") || !strings.HasSuffix(up.URL, up.DirectPath) {
		t.Fatalf("upload %+v", up)
	}
	if kept, ok := r.net.Media(up.DirectPath); !ok || !bytes.Equal(kept, file) {
		t.Fatal("bytes not kept")
	}
	at := time.Unix(1700000000, 0)
	if err := c.MarkRead(ctx, []types.MessageID{"A1", "A2"}, at, alice, alice); err != nil {
		t.Fatal(err)
	}
	if err := c.SendChatPresence(ctx, alice, types.ChatPresenceComposing, types.ChatPresenceMediaText); err != nil {
		t.Fatal(err)
	}
	if reads := r.net.Reads(); len(reads) != 1 || reads[0].Chat != alice || len(reads[0].IDs) != 2 || reads[0].Type != types.ReceiptTypeRead || !reads[0].At.Equal(at) {
		t.Fatalf("reads %+v", reads)
	}
	if p := r.net.Presences(); len(p) != 1 || p[0].State != types.ChatPresenceComposing {
		t.Fatalf("presences %+v", p)
	}
}
