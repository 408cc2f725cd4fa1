package manage_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/shared/store"
)

func TestInstanceQR(t *testing.T) {
	r := newAPIRig(t, true)
	waiting := r.create(`{"name":"waiting"}`)
	paired := r.create(`{"name":"paired"}`)
	fresh := r.create(`{"name":"fresh"}`)
	str := func(v string) *string { return &v }
	if err := r.store.SetSession(context.Background(), waiting.ID, store.SessionUpdate{Status: str("qr"), QRCodes: []string{"2@AbCd,EfGh,IjKl"}}, r.clock()); err != nil {
		t.Fatal(err)
	}
	if err := r.store.SetSession(context.Background(), paired.ID, store.SessionUpdate{Status: str("connected")}, r.clock()); err != nil {
		t.Fatal(err)
	}

	var got struct {
		InstanceID, Status, QR, QRExpiresAt, Image string
	}
	r.ok(request{method: "GET", resource: "/api/instance/{instanceId}/qr", id: waiting.ID}, 200, &got)
	if got.InstanceID != waiting.ID || got.Status != "qr" || got.QR != "2@AbCd,EfGh,IjKl" || got.QRExpiresAt == "" {
		t.Fatalf("qr %+v", got)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got.Image, "data:image/png;base64,"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(raw)); err != nil {
		t.Fatalf("image is not a PNG: %v", err)
	}

	t.Run("as image/png", func(t *testing.T) {
		resp, err := r.router.Serve(context.Background(), events.APIGatewayProxyRequest{
			HTTPMethod: "GET", Resource: "/api/instance/{instanceId}/qr", Path: "/api/instance/" + waiting.ID + "/qr",
			PathParameters: map[string]string{"instanceId": waiting.ID}, Headers: map[string]string{"accept": "image/png"},
		})
		if err != nil || resp.StatusCode != 200 || !resp.IsBase64Encoded || resp.Headers["Content-Type"] != "image/png" {
			t.Fatalf("%v %d %v %v", err, resp.StatusCode, resp.IsBase64Encoded, resp.Headers)
		}
		body, _ := base64.StdEncoding.DecodeString(resp.Body)
		if !bytes.Equal(body, raw) {
			t.Fatal("the PNG differs from the data URL's")
		}
	})
	for _, tt := range []struct {
		name, id string
		status   int
	}{
		{"paired: nothing to scan", paired.ID, 404},
		{"not started", fresh.ID, 404},
		{"unknown", "inst_nobody", 404},
		{"bad id", "no way", 400},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if a := r.do(request{method: "GET", resource: "/api/instance/{instanceId}/qr", id: tt.id}); a.status != tt.status {
				t.Fatalf("%d %s", a.status, a.raw)
			}
		})
	}
	t.Run("rotates as WhatsApp does", func(t *testing.T) {
		rotating := r.create(`{"name":"rotating"}`)
		issued := r.clock().Truncate(time.Millisecond) // the API's clock counts whole ms
		if err := r.store.SetSession(context.Background(), rotating.ID, store.SessionUpdate{
			Status: str("qr"), QRCodes: []string{"2@first", "2@second"},
		}, issued); err != nil {
			t.Fatal(err)
		}
		defer r.setNow(issued)
		for _, step := range []struct {
			at     time.Duration
			want   string
			status int
		}{
			{59 * time.Second, "2@first", 200},
			{61 * time.Second, "2@second", 200},
			{80 * time.Second, "", 404},
		} {
			r.setNow(issued.Add(step.at))
			a := r.do(request{method: "GET", resource: "/api/instance/{instanceId}/qr", id: rotating.ID})
			if a.status != step.status {
				t.Fatalf("+%s: %d %s", step.at, a.status, a.raw)
			}
			if step.status == 200 {
				var got struct{ QR, QRExpiresAt string }
				json.Unmarshal(a.Data, &got)
				if got.QR != step.want {
					t.Fatalf("+%s: code %q, want %q", step.at, got.QR, step.want)
				}
			}
		}
	})
	t.Run("expired", func(t *testing.T) {
		r.advance(2 * time.Minute)
		if a := r.do(request{method: "GET", resource: "/api/instance/{instanceId}/qr", id: waiting.ID}); a.status != 404 {
			t.Fatalf("%d %s", a.status, a.raw)
		}
	})
}
