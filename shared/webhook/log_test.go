package webhook

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

func TestResponseBody(t *testing.T) {
	long := strings.Repeat("é", MaxResponseBytes) // 2 bytes each: the cut lands mid-sequence
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"empty is null", "", ""},
		{"json object kept as json", `{"ok":true}`, `{"ok":true}`},
		{"text kept as string", "accepted", `"accepted"`},
		{"html kept as string", "<h1>Bad</h1>", `"\u003ch1\u003eBad\u003c/h1\u003e"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := string(ResponseBody([]byte(tt.in))); got != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
	t.Run("long body truncated on a rune boundary", func(t *testing.T) {
		var s string
		if err := json.Unmarshal(ResponseBody([]byte(long)), &s); err != nil {
			t.Fatal(err)
		}
		if len(s) > MaxResponseBytes || len(s) < MaxResponseBytes-4 || !utf8.ValidString(s) {
			t.Fatalf("kept %d bytes, valid utf8 %v", len(s), utf8.ValidString(s))
		}
	})
}

func TestLogJSONUsesContractTimes(t *testing.T) {
	at := time.Date(2024, 1, 1, 0, 0, 0, 5e6, time.FixedZone("x", 3600))
	l := Log{WebhookID: "wh_1", Status: StatusRetrying, CreatedAt: at, UpdatedAt: at, NextRetryAt: &at}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"createdAt", "updatedAt", "nextRetryAt"} {
		if m[k] != "2023-12-31T23:00:00.005Z" {
			t.Errorf("%s = %v", k, m[k])
		}
	}
	for _, k := range []string{"statusCode", "response", "error", "requestHeaders"} {
		if v, ok := m[k]; !ok || v != nil {
			t.Errorf("%s = %v, present %v; want null", k, v, ok)
		}
	}
}

func TestWebhookIDs(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 0, 0, 123e6, time.UTC)
	id := NewWebhookID(now)
	got, ok := WebhookIDTime(id)
	if !ok || !got.Equal(now) {
		t.Fatalf("WebhookIDTime(%s) = %v, %v", id, got, ok)
	}
	if later := NewWebhookID(now.Add(time.Millisecond)); later <= id {
		t.Fatalf("ids don't sort by time: %s <= %s", later, id)
	}
	for _, bad := range []string{"", "wh_", "log_01J0000000000000000000000", "wh_!!!!!!!!!!!!!!!!!!!!!!!!!!"} {
		if _, ok := WebhookIDTime(bad); ok {
			t.Errorf("WebhookIDTime(%q) ok", bad)
		}
	}
}

// Bounds from any time are ids: times a ULID can't carry are taken as the nearest it can.
func TestWebhookIDBounds(t *testing.T) {
	tests := []struct {
		name        string
		at          time.Time
		first, last string
	}{
		{"epoch", time.UnixMilli(0), "wh_00000000000000000000000000", "wh_0000000000ZZZZZZZZZZZZZZZZ"},
		{"before 1970", time.Date(214, 9, 14, 7, 43, 22, 0, time.UTC), "wh_00000000000000000000000000", "wh_0000000000ZZZZZZZZZZZZZZZZ"},
		{"just before 1970", time.UnixMilli(-1), "wh_00000000000000000000000000", "wh_0000000000ZZZZZZZZZZZZZZZZ"},
		{"a millisecond", time.Date(2026, 11, 29, 8, 0, 0, 123e6, time.UTC), "wh_01M8K52V3V0000000000000000", "wh_01M8K52V3VZZZZZZZZZZZZZZZZ"},
		{"past ULID's range", time.Date(20000, 1, 1, 0, 0, 0, 0, time.UTC), "wh_7ZZZZZZZZZ0000000000000000", "wh_7ZZZZZZZZZZZZZZZZZZZZZZZZZ"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			first, last := FirstWebhookID(tt.at), LastWebhookID(tt.at)
			if first != tt.first || last != tt.last {
				t.Fatalf("bounds %s %s, want %s %s", first, last, tt.first, tt.last)
			}
			for _, id := range []string{first, last} {
				if _, ok := WebhookIDTime(id); !ok {
					t.Fatalf("bound %s is not a webhook id", id)
				}
			}
		})
	}
}

func TestInstanceSubscriptionsAndSecrets(t *testing.T) {
	now := time.Now()
	in := Instance{WebhookSecret: "cur", PreviousSecret: "old", PreviousSecretExpiresAt: now.Add(time.Hour)}
	if !in.Subscribes(EventMessageReceived) {
		t.Error("no events listed should mean every event")
	}
	in.WebhookEvents = []string{EventSessionStatus}
	if in.Subscribes(EventMessageReceived) || !in.Subscribes(EventSessionStatus) {
		t.Error("subscription list not honoured")
	}
	in.WebhookEvents = []string{EventGroupUpdated}
	if !in.Subscribes(EventGroupUpdated) || in.Subscribes(EventMessageUpdated) || !IsEvent(EventGroupUpdated) {
		t.Error("group.updated not subscribable on its own")
	}
	if got := in.SigningSecrets(now); len(got) != 2 {
		t.Errorf("during overlap: %v", got)
	}
	if got := in.SigningSecrets(now.Add(2 * time.Hour)); len(got) != 1 || got[0] != "cur" {
		t.Errorf("after overlap: %v", got)
	}
}

func TestDeriveWebhookID(t *testing.T) {
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	a := DeriveWebhookID(at, "inst_1/3EB0ABC/message.received")
	if a != DeriveWebhookID(at, "inst_1/3EB0ABC/message.received") {
		t.Fatal("not deterministic")
	}
	if a == DeriveWebhookID(at, "inst_1/3EB0ABD/message.received") {
		t.Fatal("different keys, same id")
	}
	if got, ok := WebhookIDTime(a); !ok || !got.Equal(at) {
		t.Fatalf("time %v %v", got, ok)
	}
}
