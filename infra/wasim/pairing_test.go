package wasim

import (
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

func TestQRScanLinksAndSavesTheDevice(t *testing.T) {
	r := newRig(t, fast)
	c, rec := r.client(nil)
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	if !c.IsConnected() || c.IsLoggedIn() {
		t.Fatal("an unpaired connection is connected and not logged in")
	}
	qr := rec.expect(t, &events.QR{})[0].(*events.QR)
	if len(qr.Codes) != 6 {
		t.Fatalf("%d codes", len(qr.Codes))
	}
	for _, code := range qr.Codes {
		if parts := strings.Split(code, ","); len(parts) != 4 || !strings.HasPrefix(parts[0], "2@") {
			t.Fatalf("code %q is not ref,noise,identity,adv", code)
		}
	}
	if _, err := r.net.Scan("2@nope,a,b,c", "6281234567890"); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("unknown code: %v", err)
	}
	jid, err := r.net.Scan(qr.Codes[0], "+62 812-3456-7890")
	if err != nil {
		t.Fatal(err)
	}
	if jid.String() != "6281234567890:1@s.whatsapp.net" {
		t.Fatalf("jid %s", jid)
	}
	got := rec.expect(t, &events.PairSuccess{}, &events.Connected{})
	if ps := got[0].(*events.PairSuccess); ps.ID != jid || ps.LID.Server != types.HiddenUserServer || ps.Platform == "" {
		t.Fatalf("pair success %+v", ps)
	}
	if !c.IsLoggedIn() {
		t.Fatal("not logged in after pairing")
	}
	// A second code of the same connection links nothing more.
	if _, err := r.net.Scan(qr.Codes[1], "6281234567890"); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("second scan: %v", err)
	}

	// The device is in the store, with an identity its phone signed; after a restart (a new
	// network, the same store) it connects as paired.
	saved, err := r.devices.GetDevice(context.Background(), jid)
	if err != nil || saved == nil {
		t.Fatalf("saved device %v %v", saved, err)
	}
	msg := concat(whatsmeow.AdvAccountSignaturePrefix, saved.Account.Details, saved.IdentityKey.Pub[:])
	if !ecc.VerifySignature(ecc.NewDjbECPublicKey([32]byte(saved.Account.AccountSignatureKey)), msg, [64]byte(saved.Account.AccountSignature)) {
		t.Fatal("account signature does not verify")
	}
	c.Disconnect()
	rec.none(t, 50*time.Millisecond)
	restarted := &rig{t: t, net: NewNetwork(fast), devices: r.devices}
	again, rec2 := restarted.client(saved)
	if err := again.Connect(); err != nil {
		t.Fatal(err)
	}
	rec2.expect(t, &events.Connected{})
	if !again.IsLoggedIn() || !restarted.net.Linked(jid) {
		t.Fatal("restarted device not logged in")
	}
}

func TestQRCodesRunOut(t *testing.T) {
	o := fast
	o.FirstQR, o.NextQR, o.QRCodes = 60*time.Millisecond, 20*time.Millisecond, 3
	r := newRig(t, o)
	c, rec := r.client(nil)
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	qr := rec.expect(t, &events.QR{})[0].(*events.QR)
	time.Sleep(70 * time.Millisecond)
	if _, err := r.net.Scan(qr.Codes[0], "6281234567890"); !errors.Is(err, ErrCodeExpired) {
		t.Fatalf("expired first code: %v", err)
	}
	rec.expect(t, &events.Disconnected{})
	if c.IsConnected() {
		t.Fatal("still connected after the last code")
	}
	if _, err := r.net.Scan(qr.Codes[2], "6281234567890"); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("code of a closed connection: %v", err)
	}
	rec.none(t, 50*time.Millisecond)
}

var pairCodeForm = regexp.MustCompile(`^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$`)

func TestPairPhone(t *testing.T) {
	r := newRig(t, fast)
	c, rec := r.client(nil)
	if _, err := c.PairPhone(context.Background(), "6281234567890", true, whatsmeow.PairClientChrome, "Chrome (Linux)"); !errors.Is(err, whatsmeow.ErrNotConnected) {
		t.Fatalf("before connecting: %v", err)
	}
	if err := c.Connect(); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, &events.QR{})
	for _, tt := range []struct {
		phone string
		want  error
	}{
		{"12345", whatsmeow.ErrPhoneNumberTooShort},
		{"0812345678", whatsmeow.ErrPhoneNumberIsNotInternational},
		{"99912345678", whatsmeow.ErrIQBadRequest},
	} {
		t.Run(tt.phone, func(t *testing.T) {
			if _, err := c.PairPhone(context.Background(), tt.phone, true, whatsmeow.PairClientChrome, "Chrome (Linux)"); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
		})
	}
	code, err := c.PairPhone(context.Background(), "+6281234567890", true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil || !pairCodeForm.MatchString(code) {
		t.Fatalf("code %q %v", code, err)
	}
	// The phone types the code in by itself.
	ps := rec.expect(t, &events.PairSuccess{}, &events.Connected{})[0].(*events.PairSuccess)
	if ps.ID.User != "6281234567890" {
		t.Fatalf("paired %s", ps.ID)
	}
	if _, err := r.net.EnterCode(code); !errors.Is(err, ErrUnknownCode) {
		t.Fatalf("a code used twice: %v", err)
	}
}

func TestPairCodeTypedByHand(t *testing.T) {
	o := fast
	o.TypeCode = -1
	r := newRig(t, o)
	c, rec := r.client(nil)
	c.Connect()
	rec.expect(t, &events.QR{})
	code, err := c.PairPhone(context.Background(), "6281234567890", true, whatsmeow.PairClientChrome, "Chrome (Linux)")
	if err != nil {
		t.Fatal(err)
	}
	rec.none(t, 50*time.Millisecond)
	if _, err := r.net.EnterCode(strings.ToLower(code)); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, &events.PairSuccess{}, &events.Connected{})
}

func TestUnlinkLogsOutAndDeletesTheDevice(t *testing.T) {
	r := newRig(t, fast)
	ctx := context.Background()
	t.Run("connected", func(t *testing.T) {
		c, rec, jid := r.linked("6281234567890")
		if err := r.net.Unlink(jid); err != nil {
			t.Fatal(err)
		}
		lo := rec.expect(t, &events.LoggedOut{})[0].(*events.LoggedOut)
		if lo.OnConnect || lo.Reason != events.ConnectFailureLoggedOut {
			t.Fatalf("logged out %+v", lo)
		}
		if d, err := r.devices.GetDevice(ctx, jid); err != nil || d != nil {
			t.Fatalf("device still stored: %v %v", d, err)
		}
		if c.IsConnected() {
			t.Fatal("still connected")
		}
	})
	t.Run("offline, logged out on connect", func(t *testing.T) {
		c, _, jid := r.linked("6281234567891")
		device := c.device
		c.Disconnect()
		if err := r.net.Unlink(jid); err != nil {
			t.Fatal(err)
		}
		again, rec := r.client(device)
		again.Connect()
		if lo := rec.expect(t, &events.LoggedOut{})[0].(*events.LoggedOut); !lo.OnConnect {
			t.Fatalf("logged out %+v", lo)
		}
	})
	t.Run("logout from the device", func(t *testing.T) {
		c, rec, jid := r.linked("6281234567892")
		if err := c.Logout(ctx); err != nil {
			t.Fatal(err)
		}
		rec.none(t, 50*time.Millisecond) // as whatsmeow: Logout reports nothing
		if r.net.Linked(jid) || c.IsConnected() {
			t.Fatal("still linked")
		}
		if d, _ := r.devices.GetDevice(ctx, jid); d != nil {
			t.Fatal("device still stored")
		}
	})
	t.Run("at most four linked devices", func(t *testing.T) {
		for range 4 {
			r.linked("6281234567893")
		}
		c, rec := r.client(nil)
		c.Connect()
		qr := rec.expect(t, &events.QR{})[0].(*events.QR)
		if _, err := r.net.Scan(qr.Codes[0], "6281234567893"); !errors.Is(err, ErrTooManyLinked) {
			t.Fatalf("fifth device: %v", err)
		}
	})
}

func TestDropReconnects(t *testing.T) {
	r := newRig(t, fast)
	c, rec, jid := r.linked("6281234567890")
	if err := r.net.Drop(jid); err != nil {
		t.Fatal(err)
	}
	rec.expect(t, &events.Disconnected{}, &events.Connected{})
	if !c.IsLoggedIn() {
		t.Fatal("not reconnected")
	}
}
