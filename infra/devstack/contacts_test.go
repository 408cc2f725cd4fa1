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
	t.Run("a profile: push name from the contact's messages, about, picture, business", func(t *testing.T) {
		c := client{t, s.URL, testKey}
		const siti = "6281234567893"
		var p struct {
			Phone, PushName, About   string
			BusinessName, PictureURL *string
			PictureHidden            bool
		}
		c.ok("PUT", "/api/dev/contacts/+"+siti, `{"pushName":"Siti","about":"Batik, made to order","businessName":"Batik Siti"}`, 200, &p)
		if p.Phone != siti || p.PushName != "Siti" || p.BusinessName == nil || *p.BusinessName != "Batik Siti" || p.PictureURL == nil || p.PictureHidden {
			t.Fatalf("profile %+v", p)
		}
		var got contactAnswer
		c.ok("GET", contact(siti), "", 200, &got)
		// WhatsApp tells a push name only with the contact's messages.
		if got.PushName != nil || got.About == nil || *got.About != "Batik, made to order" || got.BusinessName == nil || *got.BusinessName != "Batik Siti" ||
			got.PictureURL == nil || *got.PictureURL != wasim.PictureURL(siti) {
			t.Fatalf("before any message: %+v", got)
		}
		c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"from":"`+siti+`","body":"Hello"}`, 202, nil)
		eventually(t, "the push name learnt from the message", func() bool {
			c.ok("GET", contact(siti+"@s.whatsapp.net"), "", 200, &got)
			return got.PushName != nil
		})
		if *got.PushName != "Siti" || *got.BusinessName != "Batik Siti" {
			t.Fatalf("after a message: %+v", got)
		}
		// The contact hides the picture and renames: the picture is null at once, the new name
		// comes with the next message.
		c.ok("PUT", "/api/dev/contacts/"+siti, `{"pictureHidden":true,"pushName":"Siti W"}`, 200, &p)
		c.ok("GET", contact(siti), "", 200, &got)
		if got.PictureURL != nil || got.PictureID != nil || *got.PushName != "Siti" {
			t.Fatalf("hidden picture, before the next message: %+v", got)
		}
		c.ok("POST", "/api/dev/phone/"+in.ID+"/incoming", `{"from":"`+siti+`","body":"Hello again"}`, 202, nil)
		eventually(t, "the new push name", func() bool {
			c.ok("GET", contact(siti), "", 200, &got)
			return *got.PushName == "Siti W"
		})
		var private struct{ GroupInviteOnly bool }
		c.ok("PUT", "/api/dev/contacts/6281234567899", `{"groupInviteOnly":true}`, 200, &private)
		if !private.GroupInviteOnly || !s.WhatsApp().Profile("6281234567899").InviteOnly {
			t.Fatalf("groupInviteOnly not set: %+v", private)
		}
		if r := c.call("PUT", "/api/dev/contacts/9991234567", `{"pushName":"x"}`); r.Status != 400 || !strings.HasPrefix(r.Error.Message, "phone:") {
			t.Fatalf("a number without WhatsApp: %d %s", r.Status, r.Raw)
		}
		if r := c.call("PUT", "/api/dev/contacts/"+siti, `{"pushName":" "}`); r.Status != 400 || !strings.HasPrefix(r.Error.Message, "pushName:") {
			t.Fatalf("an empty push name: %d %s", r.Status, r.Raw)
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
