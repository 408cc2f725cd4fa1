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
	// Long enough for a webhook to arrive and be fetched on a loaded machine (make test runs
	// packages side by side under -race), short enough to wait out.
	const lifetime = 10 * time.Second
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

	// For comparison, a text alone, and a text behind a photo that downloads.
	for _, body := range []string{`{"body":"alone"}`, `{"type":"image"}`} {
		var m struct{ MessageID string }
		start := time.Now()
		c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", body, 202, &m)
		ep.where(t, "message.received", map[string]any{"messageId": m.MessageID})
		t.Logf("%s reached the webhook %s after it was sent", body, time.Since(start).Round(10*time.Millisecond))
	}
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
	// The text waited behind the video's download (600 s) for at most the timeout; the rest is
	// the queue and the delivery worker (about 0.1 s alone, more on a machine running other
	// tests, hence the slack).
	waited := time.Since(sentAt)
	if waited > timeout+8*time.Second {
		t.Errorf("the text behind a hanging download was delivered after %s, want at most the %s timeout and delivery", waited, timeout)
	}
	t.Logf("the text behind a hanging download reached the webhook %s after it was sent (timeout %s)", waited.Round(10*time.Millisecond), timeout)
	m = mediaOf(t, ep.where(t, "message.received", map[string]any{"messageId": slow.MessageID}))
	if m["url"] != nil || !strings.Contains(fmt.Sprint(m["error"]), "MEDIA_DOWNLOAD_TIMEOUT") {
		t.Errorf("hanging download: media %v, want url null and the timeout", m)
	}
}

type uploadView struct {
	MediaID, UploadURL, ExpiresAt string
	Headers                       map[string]string
}

// put PUTs body to an upload URL with the headers the API answered.
func put(t *testing.T, u uploadView, body []byte) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, u.UploadURL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range u.Headers {
		if !strings.EqualFold(k, "Content-Length") {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("PUT: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestSendByUpload: a file PUT to the upload URL the API answered is sent by its mediaId, and
// the simulated account receives the same bytes, which the message.sent webhook links; a body longer than declared is refused by
// the URL's signature; WhatsApp's limits are checked before anything is queued, with a 400
// naming the field.
func TestSendByUpload(t *testing.T) {
	s := startStackWith(t, devstack.Options{Prefix: awstest.Prefix(t)})
	c := client{t, s.URL, testKey}
	ep := newEndpoint(t, 200)
	var in instance
	c.ok("POST", "/api/instance", fmt.Sprintf(`{"name":"Sales","webhookUrl":%q}`, ep.URL+"/webhook"), 201, &in)
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, nil)
	c.ok("PUT", "/api/instance/"+in.ID, `{"sendPace":{"perMinute":120,"jitterMs":0}}`, 200, nil)
	uploads := "/api/instance/" + in.ID + "/media"

	png := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte("an uploaded photo "), 200)...)
	var u uploadView
	c.ok("POST", uploads, fmt.Sprintf(`{"mimetype":"image/png","size":%d,"type":"image"}`, len(png)), 201, &u)
	if !strings.HasPrefix(u.MediaID, "up_") || u.UploadURL == "" || u.Headers["Content-Type"] != "image/png" {
		t.Fatalf("upload: %+v", u)
	}
	// Longer than declared: S3 (here the emulator, checking the signature as S3 does) refuses it.
	if code, body := put(t, u, append(png, "and more"...)); code != 403 || !strings.Contains(body, "SignatureDoesNotMatch") {
		t.Fatalf("PUT of more than declared: %d %s, want 403 SignatureDoesNotMatch", code, body)
	}
	if r := c.call("POST", "/api/instance/"+in.ID+"/messages", fmt.Sprintf(`{"to":"6281234567890","type":"image","image":{"mediaId":%q}}`, u.MediaID)); r.Status != 400 || !strings.Contains(r.Error.Message, "image.mediaId") {
		t.Fatalf("send before the upload: %d %s, want 400 naming image.mediaId", r.Status, r.Raw)
	}
	if code, body := put(t, u, png); code != 200 {
		t.Fatalf("PUT: %d %s", code, body)
	}
	var sent outboxView
	c.ok("POST", "/api/instance/"+in.ID+"/messages", fmt.Sprintf(`{"to":"6281234567890","type":"image","image":{"mediaId":%q,"caption":"as promised"}}`, u.MediaID), 201, &sent)
	got := c.phoneGot(in.ID, sent.MessageID)
	if len(got) != 1 {
		t.Fatalf("the simulated WhatsApp received %d messages %s", len(got), sent.MessageID)
	}
	m, _ := got[0].Data["media"].(map[string]any)
	if m["sha256"] != sha(png) || m["fileLength"] != float64(len(png)) || m["mimetype"] != "image/png" {
		t.Errorf("received media %v, want %d bytes of SHA-256 %s", m, len(png), sha(png))
	}
	// The message.sent webhook links the file as WhatsApp has it, as for a received one.
	sm := mediaOf(t, ep.where(t, "message.sent", map[string]any{"messageId": sent.MessageID}))
	if link, _ := sm["url"].(string); link == "" {
		t.Errorf("message.sent media %v, want a url", sm)
	} else if code, b := fetch(t, link); code != 200 || !bytes.Equal(b, png) {
		t.Errorf("message.sent media url: %d, %d bytes, want the uploaded file", code, len(b))
	}

	// Limits, before anything is queued.
	for _, tc := range []struct{ body, field string }{
		{`{"mimetype":"image/png","size":17000000,"type":"image"}`, "size"},
		{`{"mimetype":"image/gif","size":10,"type":"image"}`, "mimetype"},
		{`{"mimetype":"image/png","size":0}`, "size"},
		{`{"mimetype":"not a type","size":10}`, "mimetype"},
		{`{"size":10}`, "mimetype"},
		{`{"mimetype":"image/png","size":10,"type":"text"}`, "type"},
		{`{"mimetype":"application/pdf","size":10,"fileName":"a/b.pdf"}`, "fileName"},
	} {
		if r := c.call("POST", uploads, tc.body); r.Status != 400 || !strings.HasPrefix(r.Error.Message, tc.field+":") {
			t.Errorf("upload %s: %d %s, want 400 naming %s", tc.body, r.Status, r.Raw, tc.field)
		}
	}
	// A stored 20 KB PNG is no sticker (image/webp, at most 500 KB) and no video.
	for _, tc := range []struct{ typ, field string }{{"sticker", "sticker.mediaId"}, {"video", "video.mediaId"}} {
		body := fmt.Sprintf(`{"to":"6281234567890","type":%q,%q:{"mediaId":%q}}`, tc.typ, tc.typ, u.MediaID)
		if r := c.call("POST", "/api/instance/"+in.ID+"/messages", body); r.Status != 400 || !strings.HasPrefix(r.Error.Message, tc.field+":") {
			t.Errorf("send %s: %d %s, want 400 naming %s", body, r.Status, r.Raw, tc.field)
		}
	}
	if r := c.call("POST", "/api/instance/inst_01JZZZZZZZZZZZZZZZZZZZZZZZ/messages", fmt.Sprintf(`{"to":"6281234567890","type":"image","image":{"mediaId":%q}}`, u.MediaID)); r.Status != 404 {
		t.Errorf("send an upload from an unknown instance: %d %s, want the instance's 404", r.Status, r.Raw)
	}
	if r := c.call("POST", "/api/instance/inst_01JZZZZZZZZZZZZZZZZZZZZZZZ/media", `{"mimetype":"image/png","size":10}`); r.Status != 404 {
		t.Errorf("upload for an unknown instance: %d %s", r.Status, r.Raw)
	}
}
