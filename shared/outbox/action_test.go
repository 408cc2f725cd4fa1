package outbox

import (
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

const group = "120363025246125486@g.us"

var sentAt = time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)

func target(t Type, status Status, sent *time.Time) *Record {
	m := &Message{Chat: phone + "@" + UserServer, Type: t}
	switch t {
	case TypeText:
		m.Text = &Text{Body: "hi"}
	case TypeImage, TypeVideo, TypeDocument, TypeAudio:
		m.Media = &Media{Link: "https://example.com/a"}
	case TypeRead:
		m.Read = &Read{MessageIDs: []string{"ABC"}}
	}
	return &Record{InstanceID: "inst_1", MessageID: "3EB0AAAAAAAAAAAAAAAAAA", Message: m, Status: status, SentAt: sent}
}

// actionCases are the actions the routes accept, for the golden stored form too.
func actionCases(t *testing.T) map[string]*Message {
	t.Helper()
	must := func(m *Message, err error) *Message {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return m
	}
	edit := func(body string, tgt *Record) *Message {
		r, err := ParseEdit([]byte(body))
		if err != nil {
			t.Fatal(err)
		}
		return must(r.Edit(tgt, sentAt.Add(time.Minute)))
	}
	return map[string]*Message{
		"edit text":        edit(`{"text":"fixed"}`, target(TypeText, StatusSent, &sentAt)),
		"edit caption":     edit(`{"caption":"new caption"}`, target(TypeImage, StatusQueued, nil)),
		"revoke":           must(RevokeOf(target(TypeText, StatusDelivered, &sentAt), sentAt.Add(47*time.Hour))),
		"read":             must(ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":["ABC","DEF"]}`))),
		"read in a group":  must(ParseRead(group, []byte(`{"messageIds":["ABC"],"sender":"+62 812 3456 7890"}`))),
		"presence typing":  must(ParsePresence(phone+"@"+UserServer, []byte(`{"state":"typing"}`))),
		"presence stopped": must(ParsePresence(group, []byte(`{"state":"paused"}`))),
	}
}

func TestActionsAreNotMessageTypes(t *testing.T) {
	for _, typ := range []Type{TypeEdit, TypeRevoke, TypeRead, TypePresence} {
		if !typ.IsAction() {
			t.Errorf("%s is not an action", typ)
		}
		if _, err := Parse([]byte(`{"to":"` + phone + `","type":"` + string(typ) + `","` + string(typ) + `":{}}`)); err == nil || !strings.HasPrefix(webhook.ErrorMessage(err), "type:") {
			t.Errorf("POST messages took type %s: %v", typ, err)
		}
	}
	for typ, paced := range map[Type]bool{TypeText: true, TypeImage: true, TypeEdit: true, TypeRevoke: true, TypeReaction: true, TypeRead: false, TypePresence: false} {
		if typ.Paced() != paced {
			t.Errorf("%s.Paced() = %v", typ, !paced)
		}
	}
}

func TestActionsRoundTrip(t *testing.T) {
	for name, m := range actionCases(t) {
		t.Run(name, func(t *testing.T) {
			b, err := m.Encode()
			if err != nil {
				t.Fatal(err)
			}
			back, err := DecodeStored(b)
			if err != nil {
				t.Fatal(err)
			}
			again, _ := back.Encode()
			if string(again) != string(b) {
				t.Fatalf("%s became %s", b, again)
			}
		})
	}
}

func TestActionRefusals(t *testing.T) {
	late := sentAt.Add(EditWindow + time.Second)
	edit := func(body string, tgt *Record, now time.Time) error {
		r, err := ParseEdit([]byte(body))
		if err != nil {
			return err
		}
		_, err = r.Edit(tgt, now)
		return err
	}
	long := strings.Repeat("a", MaxTextLength+1)
	for _, tt := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"edit with both", edit(`{"text":"a","caption":"b"}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "body:"},
		{"edit with neither", edit(`{}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "body:"},
		{"edit with no body", edit(``, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "body:"},
		{"edit unknown field", edit(`{"body":"x"}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "body:"},
		{"caption of a text", edit(`{"caption":"b"}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "caption:"},
		{"text of an image", edit(`{"text":"b"}`, target(TypeImage, StatusSent, nil), sentAt), "invalid_request", "text:"},
		{"caption of audio", edit(`{"caption":"b"}`, target(TypeAudio, StatusSent, nil), sentAt), "invalid_request", "caption:"},
		{"empty text", edit(`{"text":"  "}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "text:"},
		{"long text", edit(`{"text":"`+long+`"}`, target(TypeText, StatusSent, nil), sentAt), "invalid_request", "text:"},
		{"long caption", edit(`{"caption":"`+long[:MaxCaptionLength+1]+`"}`, target(TypeVideo, StatusSent, nil), sentAt), "invalid_request", "caption:"},
		{"edit after the window", edit(`{"text":"b"}`, target(TypeText, StatusSent, &sentAt), late), "conflict", "20 minutes"},
		{"edit of a failed target", edit(`{"text":"b"}`, target(TypeText, StatusFailed, nil), sentAt), "conflict", "failed"},
		{"edit of an action", edit(`{"text":"b"}`, target(TypeRead, StatusSent, nil), sentAt), "not_found", "action"},
		{"revoke after the window", func() error {
			_, err := RevokeOf(target(TypeText, StatusRead, &sentAt), sentAt.Add(RevokeWindow+time.Second))
			return err
		}(), "conflict", "48 hours"},
		{"revoke of a failed target", func() error { _, err := RevokeOf(target(TypeImage, StatusFailed, nil), sentAt); return err }(), "conflict", "failed"},
		{"read without messageIds", func() error { _, err := ParseRead(phone+"@"+UserServer, []byte(`{}`)); return err }(), "invalid_request", "messageIds:"},
		{"read with no ids", func() error { _, err := ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":[]}`)); return err }(), "invalid_request", "messageIds:"},
		{"read with 101 ids", func() error {
			ids := make([]string, 101)
			for i := range ids {
				ids[i] = `"ID` + strings.Repeat("X", i+1) + `"`
			}
			_, err := ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":[`+strings.Join(ids, ",")+`]}`))
			return err
		}(), "invalid_request", "messageIds:"},
		{"read bad id", func() error { _, err := ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":["a b"]}`)); return err }(), "invalid_request", "messageIds[0]:"},
		{"read same id twice", func() error {
			_, err := ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":["A","A"]}`))
			return err
		}(), "invalid_request", "messageIds[1]:"},
		{"read group without sender", func() error { _, err := ParseRead(group, []byte(`{"messageIds":["A"]}`)); return err }(), "invalid_request", "sender:"},
		{"read user with sender", func() error {
			_, err := ParseRead(phone+"@"+UserServer, []byte(`{"messageIds":["A"],"sender":"`+phone+`"}`))
			return err
		}(), "invalid_request", "sender:"},
		{"read bad sender", func() error { _, err := ParseRead(group, []byte(`{"messageIds":["A"],"sender":"bob"}`)); return err }(), "invalid_request", "sender:"},
		{"presence bad state", func() error { _, err := ParsePresence(group, []byte(`{"state":"online"}`)); return err }(), "invalid_request", "state:"},
		{"presence no state", func() error { _, err := ParsePresence(group, []byte(`{}`)); return err }(), "invalid_request", "state:"},
		{"presence null state", func() error { _, err := ParsePresence(group, []byte(`{"state":null}`)); return err }(), "invalid_request", "state:"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if webhook.ErrorCode(tt.err) != tt.code || !strings.Contains(webhook.ErrorMessage(tt.err), tt.msg) {
				t.Fatalf("got %v (%s), want %s with %q", tt.err, webhook.ErrorCode(tt.err), tt.code, tt.msg)
			}
		})
	}
}

func TestChangesWithinTheirWindows(t *testing.T) {
	r, err := ParseEdit([]byte(`{"text":"b"}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.Edit(target(TypeText, StatusRead, &sentAt), sentAt.Add(EditWindow)); err != nil {
		t.Errorf("edit at the window's end: %v", err)
	}
	if _, err := RevokeOf(target(TypeText, StatusRead, &sentAt), sentAt.Add(RevokeWindow)); err != nil {
		t.Errorf("revoke at the window's end: %v", err)
	}
	if _, err := RevokeOf(target(TypeText, StatusQueued, nil), sentAt.Add(100*RevokeWindow)); err != nil {
		t.Errorf("revoke of a message not yet sent: %v", err)
	}
}
