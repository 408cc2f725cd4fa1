package devstack_test

import (
	"fmt"
	"strings"
	"testing"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/wasim"
)

type checkAnswer struct {
	Phone      string
	OnWhatsApp bool
	JID        *string
	IsBusiness bool
}

type contactAnswer struct {
	JID                                                  string
	PushName, BusinessName, About, PictureURL, PictureID *string
}

// TestContactsEndToEnd checks numbers and reads contacts through the local stack's API, as a
// user would, against the simulated WhatsApp: answered by the session host holding the
// instance, within the bound.
func TestContactsEndToEnd(t *testing.T) {
	s := startStack(t, awstest.Prefix(t))
	c := client{t, s.URL, testKey}
	var in instance
	c.ok("POST", "/api/instance", `{"name":"Contacts"}`, 201, &in)
	check := "/api/instance/" + in.ID + "/contacts/check"
	contact := func(jid string) string { return "/api/instance/" + in.ID + "/contacts/" + jid }

	if r := c.call("POST", check, `{"phones":["6281234567890"]}`); r.Status != 409 || r.Error.Code != "conflict" {
		t.Fatalf("check before linking: %d %s", r.Status, r.Raw)
	}
	var l linked
	c.ok("POST", "/api/dev/phone/"+in.ID+"/link", "", 200, &l)

	net := s.WhatsApp()
	net.SetBusiness("6281234567891", "Toko Maju")
	net.HidePicture("6281234567892", true)
	net.SetAbout("6281234567890", "At the shop 9-5")

	t.Run("check", func(t *testing.T) {
		var got []checkAnswer
		c.ok("POST", check, `{"phones":["+62 812-3456-7890","00 62 812 3456 7891","9991234567","6281234567890"]}`, 200, &got)
		want := []struct {
			phone   string
			on, biz bool
		}{{"6281234567890", true, false}, {"6281234567891", true, true}, {"9991234567", false, false}}
		if len(got) != len(want) {
			t.Fatalf("answered %+v", got)
		}
		for i, w := range want {
			g := got[i]
			if g.Phone != w.phone || g.OnWhatsApp != w.on || g.IsBusiness != w.biz || (g.JID != nil) != w.on ||
				(g.JID != nil && *g.JID != w.phone+"@s.whatsapp.net") {
				t.Errorf("%s: answered %+v", w.phone, g)
			}
		}
	})
	t.Run("check refuses 51 numbers", func(t *testing.T) {
		phones := make([]string, 51)
		for i := range phones {
			phones[i] = fmt.Sprintf(`"62812000000%02d"`, i)
		}
		r := c.call("POST", check, `{"phones":[`+strings.Join(phones, ",")+`]}`)
		if r.Status != 400 || !strings.HasPrefix(r.Error.Message, "phones:") {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("contact", func(t *testing.T) {
		var got contactAnswer
		c.ok("GET", contact("6281234567890@s.whatsapp.net"), "", 200, &got)
		if got.JID != "6281234567890@s.whatsapp.net" || got.About == nil || *got.About != "At the shop 9-5" ||
			got.PictureURL == nil || *got.PictureURL != wasim.PictureURL("6281234567890") || got.BusinessName != nil {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a business, by number", func(t *testing.T) {
		var got contactAnswer
		c.ok("GET", contact("6281234567891"), "", 200, &got)
		if got.BusinessName == nil || *got.BusinessName != "Toko Maju" || got.About == nil || *got.About != wasim.DefaultAbout {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("a hidden picture is null", func(t *testing.T) {
		var got contactAnswer
		c.ok("GET", contact("6281234567892@s.whatsapp.net"), "", 200, &got)
		if got.PictureURL != nil || got.PictureID != nil || got.About == nil {
			t.Fatalf("%+v", got)
		}
	})
	t.Run("not on WhatsApp is 404", func(t *testing.T) {
		if r := c.call("GET", contact("9991234567@s.whatsapp.net"), ""); r.Status != 404 || !strings.HasPrefix(r.Error.Message, "jid:") {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
	t.Run("a group where a user is needed is 400", func(t *testing.T) {
		if r := c.call("GET", contact("120363025246125486@g.us"), ""); r.Status != 400 || !strings.HasPrefix(r.Error.Message, "jid:") {
			t.Fatalf("%d %s", r.Status, r.Raw)
		}
	})
}
