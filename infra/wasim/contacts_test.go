package wasim

import (
	"context"
	"errors"
	"testing"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// TestNamesLearntFromMessages checks the device learns a contact's push name and a
// business's verified name from their messages, into its contact store, as whatsmeow does:
// nothing before the first message, a names event on each change only.
func TestNamesLearntFromMessages(t *testing.T) {
	r := newRig(t, fast)
	c, rec, me := r.linked("6283841581033")
	bob := types.NewJID("6281234567891", types.DefaultUserServer)
	r.net.SetPushName(alice.User, "Alice")
	r.net.SetPushName(bob.User, "Bob")
	r.net.SetBusiness(bob.User, "Toko Maju")
	ctx := context.Background()
	contact := func(jid types.JID) types.ContactInfo {
		t.Helper()
		info, err := c.device.Contacts.GetContact(ctx, jid)
		if err != nil {
			t.Fatal(err)
		}
		return info
	}
	receive := func(from From) *events.Message {
		t.Helper()
		if _, err := r.net.Receive(me, from, Content{}); err != nil {
			t.Fatal(err)
		}
		return rec.next(t).(*events.Message)
	}

	if got := contact(alice); got.PushName != "" {
		t.Fatalf("a push name before any message: %+v", got)
	}
	if m := receive(From{Number: alice.User}); m.Info.PushName != "Alice" || m.Info.VerifiedName != nil {
		t.Fatalf("alice's message %+v", m.Info)
	}
	if got := contact(alice); got.PushName != "Alice" {
		t.Fatalf("after alice wrote: %+v", got)
	}
	receive(From{Number: alice.User})
	if n := len(rec.learnt()); n != 1 {
		t.Fatalf("the same name again: %d names events, want 1", n)
	}
	receive(From{Number: alice.User, PushName: "Alice W"})
	if got := contact(alice); got.PushName != "Alice W" || r.net.Profile(alice.User).PushName != "Alice W" {
		t.Fatalf("a new name: %+v", got)
	}
	if m := receive(From{Number: bob.User}); m.Info.VerifiedName.Details.GetVerifiedName() != "Toko Maju" {
		t.Fatalf("a business's message without its verified name: %+v", m.Info)
	}
	if got := contact(bob); got.PushName != "Bob" || got.BusinessName != "Toko Maju" {
		t.Fatalf("bob: %+v", got)
	}
	names := rec.learnt()
	if len(names) != 4 {
		t.Fatalf("names events %+v", names)
	}
	if p, ok := names[1].(*events.PushName); !ok || p.JID != alice || p.OldPushName != "Alice" || p.NewPushName != "Alice W" {
		t.Fatalf("second names event %+v", names[1])
	}
	if b, ok := names[2].(*events.BusinessName); !ok || b.JID != bob || b.NewBusinessName != "Toko Maju" {
		t.Fatalf("third names event %+v", names[2])
	}
}

// TestUserInfoAndPicture checks the profile queries answer as whatsmeow's: about text,
// verified name (kept in the contact store), picture, and whatsmeow's errors for a hidden or
// missing one.
func TestUserInfoAndPicture(t *testing.T) {
	r := newRig(t, fast)
	c, _, _ := r.linked("6283841581033")
	biz := types.NewJID("6281234567891", types.DefaultUserServer)
	shy := types.NewJID("6281234567892", types.DefaultUserServer)
	none := types.NewJID("9991234567", types.DefaultUserServer)
	r.net.SetAbout(alice.User, "At the shop 9-5")
	r.net.SetBusiness(biz.User, "Toko Maju")
	r.net.HidePicture(shy.User, true)
	ctx := context.Background()

	users, err := c.GetUserInfo(ctx, []types.JID{alice, biz, shy, none})
	if err != nil {
		t.Fatal(err)
	}
	if len(users) != 3 || users[alice].Status != "At the shop 9-5" || users[biz].Status != DefaultAbout ||
		users[biz].VerifiedName.Details.GetVerifiedName() != "Toko Maju" || users[alice].VerifiedName != nil ||
		users[shy].PictureID != "" || users[alice].PictureID == "" {
		t.Fatalf("%+v", users)
	}
	if info, err := c.device.Contacts.GetContact(ctx, biz); err != nil || info.BusinessName != "Toko Maju" {
		t.Fatalf("the verified name is not kept: %+v %v", info, err)
	}
	pic, err := c.GetProfilePictureInfo(ctx, alice, nil)
	if err != nil || pic.URL != PictureURL(alice.User) {
		t.Fatalf("%+v %v", pic, err)
	}
	if _, err := c.GetProfilePictureInfo(ctx, shy, nil); !errors.Is(err, whatsmeow.ErrProfilePictureUnauthorized) {
		t.Fatalf("hidden: %v", err)
	}
	if _, err := c.GetProfilePictureInfo(ctx, none, nil); !errors.Is(err, whatsmeow.ErrProfilePictureNotSet) {
		t.Fatalf("no account: %v", err)
	}
	if p := r.net.Profile(shy.User); !p.PictureHidden || p.About != DefaultAbout || p.PushName != "+"+shy.User {
		t.Fatalf("profile %+v", p)
	}
}
