package convert

import (
	"testing"
	"time"

	"go.mau.fi/whatsmeow/types"
)

func TestFailed(t *testing.T) {
	own := types.NewJID("6281111", types.DefaultUserServer)
	own.Device = 3
	chat := types.NewJID("6281222", types.DefaultUserServer)
	got := string(Failed("3EB0AA", chat, own, "+6281222 is not on WhatsApp", time.Date(2026, 12, 2, 9, 0, 0, 0, time.UTC)))
	want := `{"messageId":"3EB0AA","chatId":"6281222@s.whatsapp.net","status":"failed","timestamp":"2026-12-02T09:00:00.000Z","by":"6281111@s.whatsapp.net","error":"+6281222 is not on WhatsApp"}`
	if got != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
}
