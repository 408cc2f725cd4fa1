package devstack_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/devstack"
)

// mediaOf answers a message.received webhook's media.
func mediaOf(t *testing.T, d map[string]any) map[string]any {
	t.Helper()
	m, ok := d["media"].(map[string]any)
	if !ok {
		t.Fatalf("no media in %v", d)
	}
	return m
}

// fetch GETs a link without an API key or any other credential, following redirects, as a
// webhook receiver would.
func fetch(t *testing.T, link string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(link)
	if err != nil {
		t.Fatalf("GET %s: %v", link, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

type mediaView struct {
	MediaID, URL, ExpiresAt, Mimetype string
	Size                              int64
	SHA256, FileName                  *string
}

// TestReceivedMediaEndToEnd: an image, a voice note and a document from the simulated
// account reach the webhook with a media.url that GETs, without credentials, exactly the bytes
// whose SHA-256 the event states; the API answers a fresh link; once a link's lifetime has
// passed it is refused, and the API's route still answers one that works.
func TestReceivedMediaEndToEnd(t *testing.T) {
	const lifetime = 4 * time.Second
	s := startStackWith(t, devstack.Options{Prefix: awstest.Prefix(t), Env: map[string]string{"MEDIA_LINK_TTL": lifetime.String()}})
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Support","webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, nil)

	pdf := []byte("%PDF-1.4\n% invoice 2024-117, three pages of it\n%%EOF\n")
	cases := []struct {
		name, body, typ string
		file            []byte // what was sent; nil for the simulation's sample of the type
	}{
		{"image", `{"type":"image","body":"the menu"}`, "image", nil},
		{"voice note", `{"type":"voice"}`, "audio", nil},
		{"document", fmt.Sprintf(`{"type":"document","media":%q,"fileName":"invoice.pdf","mimetype":"application/pdf"}`, b64(pdf)), "document", pdf},
	}
	var first mediaView
	var firstLink string
	for _, tc := range cases {
		var sent struct{ MessageID string }
		c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", tc.body, 202, &sent)
		d := ep.signed(t, in.WebhookSecret, "message.received", map[string]any{"messageId": sent.MessageID})
		m := mediaOf(t, d)
		if d["type"] != tc.typ {
			t.Errorf("%s: type %v, want %s", tc.name, d["type"], tc.typ)
		}
		link, _ := m["url"].(string)
		id, _ := m["mediaId"].(string)
		if link == "" || id == "" || m["error"] != nil {
			t.Fatalf("%s: media %v, want a mediaId and a url", tc.name, m)
		}
		code, got := fetch(t, link)
		if code != 200 || sha(got) != m["sha256"] || float64(len(got)) != m["fileLength"] {
			t.Fatalf("%s: GET url: %d, %d bytes of SHA-256 %s; the event says %v bytes of %v", tc.name, code, len(got), sha(got), m["fileLength"], m["sha256"])
		}
		if tc.file != nil && !bytes.Equal(got, tc.file) {
			t.Errorf("%s: GET url answered %q, want the file sent", tc.name, got)
		}
		var v mediaView
		asked := time.Now()
		c.ok("GET", "/api/instance/"+in.ID+"/media/"+id, "", 200, &v)
		exp, err := time.Parse(time.RFC3339, v.ExpiresAt)
		if err != nil || exp.Before(asked.Add(lifetime-time.Second)) {
			t.Errorf("%s: GET media: expiresAt %s, want the link's lifetime from now (%v)", tc.name, v.ExpiresAt, err)
		}
		if v.MediaID != id || v.Size != int64(len(got)) || v.SHA256 == nil || *v.SHA256 != m["sha256"] {
			t.Errorf("%s: GET media: %+v", tc.name, v)
		}
		if code, again := fetch(t, v.URL); code != 200 || !bytes.Equal(again, got) {
			t.Errorf("%s: the API's fresh link: %d %q", tc.name, code, again)
		}
		if first.MediaID == "" {
			first, firstLink = v, link
		}
	}
	// Another instance's id, a made-up id and a made-up token are 404s.
	if r := c.call("GET", "/api/instance/inst_01JZZZZZZZZZZZZZZZZZZZZZZZ/media/"+first.MediaID, ""); r.Status != 404 {
		t.Errorf("another instance's media: %d %s", r.Status, r.Raw)
	}
	if r := c.call("GET", "/api/instance/"+in.ID+"/media/wa_nothing", ""); r.Status != 404 {
		t.Errorf("a made-up media id: %d %s", r.Status, r.Raw)
	}
	if code, _ := fetch(t, firstLink+"x"); code != 404 {
		t.Errorf("an altered link: %d, want 404", code)
	}

	time.Sleep(lifetime + time.Second)
	if code, body := fetch(t, firstLink); code != 404 || !strings.Contains(string(body), "expired") {
		t.Errorf("the webhook's link after its lifetime: %d %s, want 404 expired", code, body)
	}
	if code, _ := fetch(t, first.URL); code != 404 {
		t.Errorf("the API's first link after its lifetime: %d, want 404", code)
	}
	var fresh mediaView
	c.ok("GET", "/api/instance/"+in.ID+"/media/"+first.MediaID, "", 200, &fresh)
	if code, got := fetch(t, fresh.URL); code != 200 || sha(got) != *first.SHA256 {
		t.Errorf("a fresh link after the old one expired: %d, SHA-256 %s", code, sha(got))
	}
}

// TestReceivedMediaFailure: a file whose download fails (corrupt) or hangs past
// MEDIA_DOWNLOAD_TIMEOUT is still published, with url null and error set; the text sent right
// behind the hanging one is published within the timeout, not after the download.
func TestReceivedMediaFailure(t *testing.T) {
	const timeout = 2 * time.Second
	s := startStackWith(t, devstack.Options{Prefix: awstest.Prefix(t), Env: map[string]string{"MEDIA_DOWNLOAD_TIMEOUT": timeout.String()}})
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Support","webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, nil)

	var corrupt struct{ MessageID string }
	c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"type":"image","corruptMedia":true}`, 202, &corrupt)
	m := mediaOf(t, ep.where(t, "message.received", map[string]any{"messageId": corrupt.MessageID}))
	if m["url"] != nil || m["mediaId"] == nil || !strings.Contains(fmt.Sprint(m["error"]), "download") {
		t.Fatalf("corrupt file: media %v, want url null and a download error", m)
	}
	if _, ok := m["url"]; !ok {
		t.Errorf("corrupt file: media %v has no url member (want null)", m)
	}

	var slow, text struct{ MessageID string }
	c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"type":"video","mediaDelayMs":600000}`, 202, &slow)
	sentAt := time.Now()
	c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"body":"and one more thing"}`, 202, &text)
	ep.where(t, "message.received", map[string]any{"messageId": text.MessageID})
	// The text waited behind the video's download for at most the timeout; the rest is the
	// queue and the delivery worker's poll (under 2 s on the local stack).
	if waited := time.Since(sentAt); waited > timeout+4*time.Second {
		t.Errorf("the text behind a hanging download was delivered after %s, want at most the %s timeout and delivery", waited, timeout)
	}
	m = mediaOf(t, ep.where(t, "message.received", map[string]any{"messageId": slow.MessageID}))
	if m["url"] != nil || !strings.Contains(fmt.Sprint(m["error"]), "MEDIA_DOWNLOAD_TIMEOUT") {
		t.Errorf("hanging download: media %v, want url null and the timeout", m)
	}
}
