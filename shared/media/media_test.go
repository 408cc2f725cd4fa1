package media

import (
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinks(t *testing.T) {
	now := time.Date(2024, 1, 1, 12, 0, 0, 0, time.UTC)
	links := NewLinks([]byte("0123456789abcdef0123"), "https://api.example/v1/", 24*time.Hour)
	id := StoredID("6281234567890@s.whatsapp.net", "6281234567890@s.whatsapp.net", "3EB0ABC")
	link, exp := links.Link("inst_1", id, now)
	if !strings.HasPrefix(link, "https://api.example/v1/media/") || !exp.Equal(now.Add(24*time.Hour)) {
		t.Fatalf("Link = %s, %s", link, exp)
	}
	token := strings.TrimPrefix(link, "https://api.example/v1/media/")
	payload, mac, _ := strings.Cut(token, ".")
	forged := base64.RawURLEncoding.EncodeToString([]byte("inst_2/" + id + "/4102444800"))
	tests := []struct {
		name  string
		links *Links
		token string
		at    time.Time
		want  error
	}{
		{"fresh", links, token, now, nil},
		{"a second before it expires", links, token, exp.Add(-time.Second), nil},
		{"when it expires", links, token, exp, ErrExpiredLink},
		{"after", links, token, exp.Add(time.Hour), ErrExpiredLink},
		{"another key", NewLinks([]byte("another key, as long"), "https://api.example/v1", 24*time.Hour), token, now, ErrBadLink},
		{"another instance, same MAC", links, forged + "." + mac, now, ErrBadLink},
		{"MAC cut", links, payload + "." + mac[:len(mac)-2], now, ErrBadLink},
		{"no MAC", links, payload, now, ErrBadLink},
		{"not base64", links, "!!!.???", now, ErrBadLink},
		{"empty", links, "", now, ErrBadLink},
		{"too long", links, strings.Repeat("a", 600) + "." + mac, now, ErrBadLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			inst, media, err := tt.links.Check(tt.token, tt.at)
			if !errors.Is(err, tt.want) || (err == nil && (inst != "inst_1" || media != id)) {
				t.Fatalf("Check = %q, %q, %v; want %v", inst, media, err, tt.want)
			}
		})
	}
}

func TestIDs(t *testing.T) {
	a := StoredID("chat@s.whatsapp.net", "sender@s.whatsapp.net", "3EB0")
	if a != StoredID("chat@s.whatsapp.net", "sender@s.whatsapp.net", "3EB0") {
		t.Error("StoredID is not the same for the same message")
	}
	for _, other := range []string{
		StoredID("other@s.whatsapp.net", "sender@s.whatsapp.net", "3EB0"),
		StoredID("chat@s.whatsapp.net", "other@s.whatsapp.net", "3EB0"),
		StoredID("chat@s.whatsapp.net", "sender@s.whatsapp.net", "3EB1"),
	} {
		if other == a {
			t.Errorf("two messages share the media id %s", a)
		}
	}
	up := NewUploadID()
	if up == NewUploadID() || !IsUpload(up) || IsUpload(a) {
		t.Errorf("upload ids: %s", up)
	}
	for _, tt := range []struct {
		id   string
		want bool
	}{
		{a, true}, {up, true},
		{"wa_", false}, {"up_", false}, {a + "0", false}, {a[:len(a)-1], false},
		{strings.ToUpper(up), false}, {"up_../../../etc/passwd/aaaaaaaaa", false},
		{"xx_" + a[3:], false}, {"", false},
	} {
		if got := ValidID(tt.id); got != tt.want {
			t.Errorf("ValidID(%q) = %v, want %v", tt.id, got, tt.want)
		}
	}
	if Key("inst_1", a) != "inst_1/"+a {
		t.Errorf("Key = %s", Key("inst_1", a))
	}
}
