package dynamostore

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// Reads used by many cases.

func (p *pair) session(addr string) string {
	p.t.Helper()
	return p.same("GetSession "+addr, func(s allStores) (string, error) {
		v, err := s.GetSession(p.ctx, addr)
		if err != nil {
			return "", err
		}
		has, err := s.HasSession(p.ctx, addr)
		return render(v, has), err
	})
}

func (p *pair) trusted(addr string, key [32]byte) string {
	p.t.Helper()
	return p.same("IsTrustedIdentity "+addr, func(s allStores) (string, error) {
		v, err := s.IsTrustedIdentity(p.ctx, addr, key)
		return render(v), err
	})
}

func (p *pair) senderKey(group, user string) string {
	p.t.Helper()
	return p.same("GetSenderKey "+group+" "+user, func(s allStores) (string, error) {
		v, err := s.GetSenderKey(p.ctx, group, user)
		return render(v), err
	})
}

func (p *pair) mac(name string, indexMAC []byte) string {
	p.t.Helper()
	return p.same(fmt.Sprintf("GetAppStateMutationMAC %s %x", name, indexMAC[:2]), func(s allStores) (string, error) {
		v, err := s.GetAppStateMutationMAC(p.ctx, name, indexMAC)
		return render(v), err
	})
}

func (p *pair) lids(pns []types.JID) string {
	p.t.Helper()
	return p.same(fmt.Sprintf("GetManyLIDsForPNs %d", len(pns)), func(s allStores) (string, error) {
		v, err := s.GetManyLIDsForPNs(p.ctx, pns)
		return render(v), err
	})
}

func (p *pair) want(got, want string) {
	p.t.Helper()
	if got != want {
		p.t.Errorf("both stores answer %s, want %s", got, want)
	}
}

func (p *pair) putSession(addr string, v []byte) {
	p.t.Helper()
	p.exec("PutSession "+addr, func(s allStores) error { return s.PutSession(p.ctx, addr, v) })
}

func (p *pair) putIdentity(addr string, key [32]byte) {
	p.t.Helper()
	p.exec("PutIdentity "+addr, func(s allStores) error { return s.PutIdentity(p.ctx, addr, key) })
}

// TestEdgeCases compares hand-written operation sequences on both stores.
func TestEdgeCases(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		run  func(p *pair)
	}{
		{"overwrite", edgeOverwrite},
		{"delete all for a phone", edgeDeleteAllForPhone},
		{"batches of 100+", edgeBatches},
		{"missing keys", edgeMissing},
		{"PN to LID migration", edgeMigration},
		{"app state MAC deletes", edgeAppStateMACs},
		{"pre-key generation and upload marking", edgePreKeys},
		{"LID remapping", edgeLIDRemapping},
		{"message secrets and privacy tokens across PN and LID", edgeAltJIDs},
		{"contacts and their cache", edgeContacts},
		{"chat settings", edgeChatSettings},
		{"event buffer", edgeEventBuffer},
		{"nil and empty values", edgeNilValues},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tt.run(newPair(t))
		})
	}
}

func edgeOverwrite(p *pair) {
	p.putSession("1:0", []byte("first"))
	p.putSession("1:0", []byte("second"))
	p.want(p.session("1:0"), render([]byte("second"), true))
	p.putSession("1:0", nil)
	p.want(p.session("1:0"), render([]byte(nil), true))

	p.putIdentity("1:0", [32]byte{1})
	p.putIdentity("1:0", [32]byte{2})
	p.want(p.trusted("1:0", [32]byte{1}), "false")
	p.want(p.trusted("1:0", [32]byte{2}), "true")

	for _, v := range []string{"a", "b"} {
		p.exec("PutSenderKey", func(s allStores) error { return s.PutSenderKey(p.ctx, "g@g.us", "1:0", []byte(v)) })
	}
	p.want(p.senderKey("g@g.us", "1:0"), render([]byte("b")))

	// A sync key is replaced only by a strictly newer one.
	for _, k := range []store.AppStateSyncKey{
		{Data: []byte("v10"), Timestamp: 10, Fingerprint: []byte("f")},
		{Data: []byte("v5"), Timestamp: 5, Fingerprint: []byte("f")},
		{Data: []byte("v10b"), Timestamp: 10, Fingerprint: []byte("f")},
		{Data: []byte("v11"), Timestamp: 11, Fingerprint: []byte("g")},
	} {
		p.exec(fmt.Sprint("PutAppStateSyncKey ts ", k.Timestamp), func(s allStores) error { return s.PutAppStateSyncKey(p.ctx, []byte{7}, k) })
		p.same("GetAppStateSyncKey", func(s allStores) (string, error) {
			v, err := s.GetAppStateSyncKey(p.ctx, []byte{7})
			return render(v), err
		})
	}
	p.exec("PutAppStateSyncKey other", func(s allStores) error {
		return s.PutAppStateSyncKey(p.ctx, []byte{8}, store.AppStateSyncKey{Data: []byte("x"), Timestamp: 12, Fingerprint: []byte("f")})
	})
	p.want(p.same("GetLatestAppStateSyncKeyID", func(s allStores) (string, error) {
		v, err := s.GetLatestAppStateSyncKeyID(p.ctx)
		return render(v), err
	}), render([]byte{8}))

	for _, version := range []uint64{3, 2} {
		p.exec("PutAppStateVersion", func(s allStores) error {
			return s.PutAppStateVersion(p.ctx, "regular", version, [128]byte{byte(version)})
		})
	}
	p.same("GetAppStateVersion", func(s allStores) (string, error) {
		v, h, err := s.GetAppStateVersion(p.ctx, "regular")
		return render(v, h), err
	})
}

func edgeDeleteAllForPhone(p *pair) {
	addrs := []string{
		"1555000200:0", "1555000200:12", // the phone
		"15550002001:0",  // a longer phone starting with it
		"1555000_1:2",    // a LID's signal address
		"155500091:3",    // matches "1555000_1:%": SQLite's _ is a wildcard
		"Ab:1", "aB%x:1", // LIKE folds ASCII case; % in an address
	}
	for _, a := range addrs {
		p.putSession(a, []byte(a))
		p.putIdentity(a, [32]byte{9})
	}
	for _, phone := range []string{"1555000200", "1555000_1", "ab", "aB%"} {
		p.exec("DeleteAllSessions "+phone, func(s allStores) error { return s.DeleteAllSessions(p.ctx, phone) })
		p.exec("DeleteAllIdentities "+phone, func(s allStores) error { return s.DeleteAllIdentities(p.ctx, phone) })
		for _, a := range addrs {
			p.session(a)
			p.trusted(a, [32]byte{1})
		}
	}
	p.want(p.session("15550002001:0"), render([]byte("15550002001:0"), true))
	p.want(p.session("155500091:3"), render([]byte(nil), false))

	// DeleteIdentity matches its address with LIKE too.
	p.putIdentity("9000001_1:5", [32]byte{9})
	p.putIdentity("9000001X1:5", [32]byte{9})
	p.exec("DeleteIdentity", func(s allStores) error { return s.DeleteIdentity(p.ctx, "9000001_1:5") })
	p.want(p.trusted("9000001X1:5", [32]byte{1}), "true")
}

func edgeBatches(p *pair) {
	sessions := map[string][]byte{}
	var addrs []string
	for i := range 130 {
		addr := fmt.Sprintf("1555%07d:%d", i, i%3)
		addrs = append(addrs, addr)
		if i < 120 {
			sessions[addr] = []byte(addr)
		}
	}
	p.exec("PutManySessions 120", func(s allStores) error { return s.PutManySessions(p.ctx, sessions) })
	// Duplicate addresses are asked once.
	got := p.same("GetManySessions 130", func(s allStores) (string, error) {
		v, err := s.GetManySessions(p.ctx, append(slices.Clone(addrs), addrs[:5]...))
		return render(v), err
	})
	if want := render(func() map[string][]byte {
		m := map[string][]byte{}
		for _, a := range addrs {
			m[a] = sessions[a]
		}
		return m
	}()); got != want {
		p.t.Errorf("GetManySessions answers %s, want %s", got, want)
	}

	var contacts []store.ContactEntry
	for i := range 150 {
		contacts = append(contacts, store.ContactEntry{JID: pnJID(fmt.Sprintf("1666%07d", i), 0), FirstName: fmt.Sprint("F", i), FullName: fmt.Sprint("Full ", i)})
	}
	contacts = append(contacts, store.ContactEntry{JID: contacts[3].JID, FirstName: "duplicate, ignored"})
	p.same("PutPushName before", func(s allStores) (string, error) {
		changed, prev, err := s.PutPushName(p.ctx, contacts[3].JID, "Pushed")
		return render(changed, prev), err
	})
	p.exec("PutAllContactNames 150", func(s allStores) error { return s.PutAllContactNames(p.ctx, slices.Clone(contacts)) })
	p.same("GetAllContacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })

	var mappings []store.LIDMapping
	var pns []types.JID
	for i := range 150 {
		mappings = append(mappings, store.LIDMapping{LID: lidJID(fmt.Sprintf("8%07d", i), 0), PN: pnJID(fmt.Sprintf("1777%07d", i), 0)})
		pns = append(pns, pnJID(fmt.Sprintf("1777%07d", i), uint16(i%3)))
	}
	p.exec("PutManyLIDMappings 150", func(s allStores) error { return s.PutManyLIDMappings(p.ctx, slices.Clone(mappings)) })
	p.lids(pns)
	p.withStores(p.fresh()).lids(pns)

	var secrets []store.MessageSecretInsert
	for i := range 120 {
		secrets = append(secrets, store.MessageSecretInsert{
			Chat: types.NewJID("120363000000001", types.GroupServer), Sender: pnJID(fmt.Sprintf("1777%07d", i%10), uint16(i%2)),
			ID: fmt.Sprintf("3EB0%04d", i), Secret: []byte(fmt.Sprint("secret ", i)),
		})
	}
	p.exec("PutMessageSecrets 120", func(s allStores) error { return s.PutMessageSecrets(p.ctx, secrets) })
	for _, m := range secrets {
		p.same("GetMessageSecret "+m.ID, func(s allStores) (string, error) {
			// Asked by the sender's LID: the LID map finds the phone number form.
			lid := lidJID(fmt.Sprintf("8%07d", 0), 0)
			if m.Sender.User != "17770000000" {
				lid = m.Sender
			}
			v, real, err := s.GetMessageSecret(p.ctx, m.Chat, lid, m.ID)
			return render(v, real), err
		})
	}
}

func edgeMissing(p *pair) {
	p.want(p.session("404:0"), render([]byte(nil), false))
	p.want(p.trusted("404:0", [32]byte{1}), "true")
	p.want(p.senderKey("404@g.us", "404:0"), render([]byte(nil)))
	p.want(p.same("GetManySessions none", func(s allStores) (string, error) { v, err := s.GetManySessions(p.ctx, nil); return render(v), err }), "nil-map")
	p.same("GetManySessions absent", func(s allStores) (string, error) {
		v, err := s.GetManySessions(p.ctx, []string{"404:0"})
		return render(v), err
	})
	p.want(p.same("GetPreKey", func(s allStores) (string, error) { v, err := s.GetPreKey(p.ctx, 1); return render(v), err }), "no-prekey")
	p.want(p.same("UploadedPreKeyCount", func(s allStores) (string, error) { v, err := s.UploadedPreKeyCount(p.ctx); return render(v), err }), "0")
	p.same("GetAppStateSyncKey", func(s allStores) (string, error) {
		v, err := s.GetAppStateSyncKey(p.ctx, []byte{1})
		return render(v), err
	})
	p.same("GetLatestAppStateSyncKeyID", func(s allStores) (string, error) {
		v, err := s.GetLatestAppStateSyncKeyID(p.ctx)
		return render(v), err
	})
	p.same("GetAppStateVersion", func(s allStores) (string, error) {
		v, h, err := s.GetAppStateVersion(p.ctx, "regular")
		return render(v, h), err
	})
	p.want(p.mac("regular", make([]byte, 32)), render([]byte(nil)))
	p.same("GetContact", func(s allStores) (string, error) {
		v, err := s.GetContact(p.ctx, pnJID("404", 0))
		return render(v), err
	})
	p.same("GetAllContacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })
	p.same("GetChatSettings", func(s allStores) (string, error) {
		v, err := s.GetChatSettings(p.ctx, pnJID("404", 0))
		return render(v), err
	})
	p.same("GetMessageSecret", func(s allStores) (string, error) {
		v, real, err := s.GetMessageSecret(p.ctx, pnJID("404", 0), pnJID("404", 0), "X")
		return render(v, real), err
	})
	p.same("GetPrivacyToken", func(s allStores) (string, error) {
		v, err := s.GetPrivacyToken(p.ctx, pnJID("404", 0))
		return render(v), err
	})
	p.same("GetBufferedEvent", func(s allStores) (string, error) {
		v, err := s.GetBufferedEvent(p.ctx, [32]byte{4})
		return render(v), err
	})
	p.same("GetLIDForPN", func(s allStores) (string, error) {
		v, err := s.GetLIDForPN(p.ctx, pnJID("404", 0))
		return render(v), err
	})
	p.same("GetPNForLID", func(s allStores) (string, error) {
		v, err := s.GetPNForLID(p.ctx, lidJID("404", 0))
		return render(v), err
	})
	p.same("GetLIDForPN with a LID is an error", func(s allStores) (string, error) {
		v, err := s.GetLIDForPN(p.ctx, lidJID("404", 0))
		return render(v), err
	})
	p.want(p.lids(nil), "nil-map")
	// Empty keys: nothing can be stored there in DynamoDB; sqlstore has nothing there either.
	p.want(p.session(""), render([]byte(nil), false))
	p.same("GetManySessions empty", func(s allStores) (string, error) {
		v, err := s.GetManySessions(p.ctx, []string{"", "1:1"})
		return render(v), err
	})
	p.same("GetContact empty", func(s allStores) (string, error) {
		v, err := s.GetContact(p.ctx, types.EmptyJID)
		return render(v), err
	})
	p.same("GetChatSettings empty", func(s allStores) (string, error) {
		v, err := s.GetChatSettings(p.ctx, types.EmptyJID)
		return render(v), err
	})
	p.same("GetAppStateSyncKey nil", func(s allStores) (string, error) { v, err := s.GetAppStateSyncKey(p.ctx, nil); return render(v), err })
	// Deleting what is not there is no error.
	p.exec("DeleteSession", func(s allStores) error { return s.DeleteSession(p.ctx, "404:0") })
	p.exec("RemovePreKey", func(s allStores) error { return s.RemovePreKey(p.ctx, 404) })
	p.exec("DeleteAppStateVersion", func(s allStores) error { return s.DeleteAppStateVersion(p.ctx, "regular") })
	p.exec("ClearBufferedEventPlaintext", func(s allStores) error { return s.ClearBufferedEventPlaintext(p.ctx, [32]byte{4}) })
	p.same("GetBufferedEvent after clear", func(s allStores) (string, error) {
		v, err := s.GetBufferedEvent(p.ctx, [32]byte{4})
		return render(v), err
	})
}

func edgeMigration(p *pair) {
	pn, lid := pnJID("15550002001", 0), lidJID("9000001", 0)
	pnAddrs := []string{"15550002001:0", "15550002001:12"}
	others := []string{"155500020011:0", "15550002002:0", "9000001_1:12"} // 9000001_1:12 is overwritten by the copy
	for _, a := range append(slices.Clone(pnAddrs), others...) {
		p.putSession(a, []byte("session "+a))
		p.putIdentity(a, [32]byte{byte(len(a))})
		for _, g := range []string{"1@g.us", "2@g.us"} {
			p.exec("PutSenderKey", func(s allStores) error { return s.PutSenderKey(p.ctx, g, a, []byte(g+a)) })
		}
	}
	p.exec("MigratePNToLID", func(s allStores) error { return s.MigratePNToLID(p.ctx, pn, lid) })
	all := append(slices.Clone(pnAddrs), others...)
	all = append(all, "9000001_1:0")
	for _, a := range all {
		p.session(a)
		p.trusted(a, [32]byte{byte(len(a))})
		p.senderKey("1@g.us", a)
		p.senderKey("2@g.us", a)
	}
	p.want(p.session("9000001_1:0"), render([]byte("session 15550002001:0"), true))
	p.want(p.session("15550002001:0"), render([]byte(nil), false))

	// Once per phone number per store: a second call changes nothing.
	p.putSession("15550002001:5", []byte("late"))
	p.exec("MigratePNToLID again", func(s allStores) error { return s.MigratePNToLID(p.ctx, pn, lid) })
	p.want(p.session("15550002001:5"), render([]byte("late"), true))

	// A new store migrates again. replace() replaces every occurrence of the phone's user.
	p.putSession("1:1", []byte("one"))
	fresh := p.withStores(p.fresh())
	fresh.exec("MigratePNToLID 1", func(s allStores) error { return s.MigratePNToLID(p.ctx, pnJID("1", 0), lid) })
	fresh.session("1:1")
	fresh.want(fresh.session("9000001_1:9000001_1"), render([]byte("one"), true))
	fresh.exec("MigratePNToLID again", func(s allStores) error { return s.MigratePNToLID(p.ctx, pn, lid) })
	fresh.want(fresh.session("9000001_1:5"), render([]byte("late"), true))
}

func edgeAppStateMACs(p *pair) {
	mac := func(b byte) []byte { return filled(32, b) }
	p.exec("PutAppStateMutationMACs without a version fails", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: mac(1), ValueMAC: mac(0xA1)}})
	})
	p.exec("PutAppStateVersion", func(s allStores) error { return s.PutAppStateVersion(p.ctx, "regular", 1, [128]byte{1}) })
	p.exec("PutAppStateVersion other", func(s allStores) error { return s.PutAppStateVersion(p.ctx, "regular_low", 1, [128]byte{1}) })
	p.exec("PutAppStateMutationMACs short MAC fails", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: mac(1)[:31], ValueMAC: mac(0xA1)}})
	})
	p.exec("PutAppStateMutationMACs v1", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular", 1, []store.AppStateMutationMAC{
			{IndexMAC: mac(1), ValueMAC: mac(0xA1)}, {IndexMAC: mac(2), ValueMAC: mac(0xA2)}, {IndexMAC: mac(3), ValueMAC: mac(0xA3)},
		})
	})
	p.exec("PutAppStateMutationMACs other name", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular_low", 1, []store.AppStateMutationMAC{{IndexMAC: mac(1), ValueMAC: mac(0xB1)}})
	})
	p.exec("PutAppStateMutationMACs v2", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular", 2, []store.AppStateMutationMAC{{IndexMAC: mac(1), ValueMAC: mac(0xC1)}})
	})
	p.exec("PutAppStateMutationMACs v10", func(s allStores) error {
		return s.PutAppStateMutationMACs(p.ctx, "regular", 10, []store.AppStateMutationMAC{{IndexMAC: mac(2), ValueMAC: mac(0xC2)}})
	})
	p.want(p.mac("regular", mac(1)), render(mac(0xC1)))
	p.want(p.mac("regular", mac(2)), render(mac(0xC2)))
	p.exec("DeleteAppStateMutationMACs", func(s allStores) error {
		return s.DeleteAppStateMutationMACs(p.ctx, "regular", [][]byte{mac(1), mac(9)})
	})
	p.want(p.mac("regular", mac(1)), render([]byte(nil)))
	p.want(p.mac("regular_low", mac(1)), render(mac(0xB1)))
	p.want(p.mac("regular", mac(3)), render(mac(0xA3)))
	p.exec("DeleteAppStateMutationMACs none", func(s allStores) error { return s.DeleteAppStateMutationMACs(p.ctx, "regular", nil) })
	p.exec("DeleteAppStateVersion", func(s allStores) error { return s.DeleteAppStateVersion(p.ctx, "regular") })
	for b := range byte(4) {
		p.mac("regular", mac(b))
	}
	p.want(p.mac("regular_low", mac(1)), render(mac(0xB1)))
}

func edgePreKeys(p *pair) {
	ids := func(name string, op func(s allStores) (string, error)) string { p.t.Helper(); return p.same(name, op) }
	getOrGen := func(n uint32) string {
		return ids(fmt.Sprint("GetOrGenPreKeys ", n), func(s allStores) (string, error) { v, err := s.GetOrGenPreKeys(p.ctx, n); return render(v), err })
	}
	genOne := func() string {
		return ids("GenOnePreKey", func(s allStores) (string, error) { v, err := s.GenOnePreKey(p.ctx); return render(v), err })
	}
	uploaded := func() string {
		return ids("UploadedPreKeyCount", func(s allStores) (string, error) { v, err := s.UploadedPreKeyCount(p.ctx); return render(v), err })
	}
	mark := func(id uint32) {
		p.exec(fmt.Sprint("MarkPreKeysAsUploaded ", id), func(s allStores) error { return s.MarkPreKeysAsUploaded(p.ctx, id) })
	}
	remove := func(id uint32) {
		p.exec(fmt.Sprint("RemovePreKey ", id), func(s allStores) error { return s.RemovePreKey(p.ctx, id) })
	}
	p.want(getOrGen(5), "[prekey(1),prekey(2),prekey(3),prekey(4),prekey(5)]")
	p.want(getOrGen(3), "[prekey(1),prekey(2),prekey(3)]")
	mark(3)
	p.want(uploaded(), "3")
	p.want(getOrGen(5), "[prekey(4),prekey(5),prekey(6),prekey(7),prekey(8)]")
	p.want(genOne(), "prekey(9)")
	p.want(uploaded(), "4")
	remove(9)
	p.want(genOne(), "prekey(9)") // MAX(id)+1 again, as sqlstore
	remove(2)
	p.want(uploaded(), "3")
	mark(100)
	p.want(uploaded(), "8")
	p.want(getOrGen(2), "[prekey(10),prekey(11)]")
	p.want(getOrGen(120), p.same("GetOrGenPreKeys 120 again", func(s allStores) (string, error) { v, err := s.GetOrGenPreKeys(p.ctx, 120); return render(v), err }))
	for id := range uint32(14) {
		p.same(fmt.Sprint("GetPreKey ", id), func(s allStores) (string, error) { v, err := s.GetPreKey(p.ctx, id); return render(v), err })
	}
}

func edgeLIDRemapping(p *pair) {
	l1, l2 := lidJID("9000001", 0), lidJID("9000002", 0)
	p1, p2 := pnJID("15550002001", 0), pnJID("15550002002", 0)
	check := func(q *pair) {
		for _, pn := range []types.JID{p1, p2, pnJID("15550002001", 3)} {
			q.same("GetLIDForPN "+pn.String(), func(s allStores) (string, error) { v, err := s.GetLIDForPN(p.ctx, pn); return render(v), err })
		}
		for _, lid := range []types.JID{l1, l2} {
			q.same("GetPNForLID "+lid.String(), func(s allStores) (string, error) { v, err := s.GetPNForLID(p.ctx, lid); return render(v), err })
		}
		q.lids([]types.JID{p1, p2, pnJID("15550002002", 4)})
	}
	for _, m := range []store.LIDMapping{{LID: l1, PN: p1}, {LID: l2, PN: p1}, {LID: l2, PN: p2}, {LID: l1, PN: p2}} {
		p.exec("PutLIDMapping "+m.LID.String()+" "+m.PN.String(), func(s allStores) error { return s.PutLIDMapping(p.ctx, m.LID, m.PN) })
		check(p)
		check(p.withStores(p.fresh()))
	}
	p.exec("PutLIDMapping invalid", func(s allStores) error { return s.PutLIDMapping(p.ctx, p1, l1) })
	p.exec("PutManyLIDMappings in order, invalid skipped", func(s allStores) error {
		return s.PutManyLIDMappings(p.ctx, []store.LIDMapping{{LID: l1, PN: p1}, {LID: p1, PN: l1}, {LID: l2, PN: p1}, {LID: l1, PN: p1}, {LID: l2, PN: p2}})
	})
	check(p)
	check(p.withStores(p.fresh()))
}

func edgeAltJIDs(p *pair) {
	lid, pn := lidJID("9000001", 0), pnJID("15550002001", 0)
	group := types.NewJID("120363000000001", types.GroupServer)
	p.exec("PutLIDMapping", func(s allStores) error { return s.PutLIDMapping(p.ctx, lid, pn) })
	p.exec("PutMessageSecret", func(s allStores) error {
		return s.PutMessageSecret(p.ctx, pnJID("15550002001", 3), lidJID("9000001", 2), "M1", []byte("s1"))
	})
	p.exec("PutMessageSecret again keeps the first", func(s allStores) error { return s.PutMessageSecret(p.ctx, pn, lid, "M1", []byte("s2")) })
	p.exec("PutMessageSecrets", func(s allStores) error {
		return s.PutMessageSecrets(p.ctx, []store.MessageSecretInsert{
			{Chat: group, Sender: pn, ID: "M2", Secret: []byte("first")},
			{Chat: group, Sender: pn, ID: "M2", Secret: []byte("second")},
		})
	})
	for _, q := range []struct {
		chat, sender types.JID
		id           string
	}{{pn, lid, "M1"}, {lid, pn, "M1"}, {lid, lid, "M1"}, {group, lid, "M2"}, {group, pn, "M2"}, {group, pnJID("15550002002", 0), "M2"}} {
		p.same(fmt.Sprintf("GetMessageSecret %s %s %s", q.chat, q.sender, q.id), func(s allStores) (string, error) {
			v, real, err := s.GetMessageSecret(p.ctx, q.chat, q.sender, q.id)
			return render(v, real), err
		})
	}
	p.exec("PutPrivacyTokens", func(s allStores) error {
		return s.PutPrivacyTokens(p.ctx,
			store.PrivacyToken{User: pn, Token: []byte("pn"), Timestamp: time.Unix(100, 0)},
			store.PrivacyToken{User: lidJID("9000001", 4), Token: []byte("lid"), Timestamp: time.Unix(200, 0)},
			store.PrivacyToken{User: group, Token: []byte("g1"), Timestamp: time.Unix(5, 0)},
			store.PrivacyToken{User: group, Token: []byte("g2"), Timestamp: time.Unix(6, 0)},
		)
	})
	for _, user := range []types.JID{pn, lid, pnJID("15550002001", 9), group, pnJID("15550002002", 0)} {
		p.same("GetPrivacyToken "+user.String(), func(s allStores) (string, error) { v, err := s.GetPrivacyToken(p.ctx, user); return render(v), err })
	}
	p.exec("PutPrivacyTokens newer pn", func(s allStores) error {
		return s.PutPrivacyTokens(p.ctx, store.PrivacyToken{User: pn, Token: []byte("pn2"), Timestamp: time.Unix(300, 0)})
	})
	p.want(p.same("GetPrivacyToken lid", func(s allStores) (string, error) { v, err := s.GetPrivacyToken(p.ctx, lid); return render(v), err }),
		render(&store.PrivacyToken{User: lid, Token: []byte("pn2"), Timestamp: time.Unix(300, 0)}))
}

func edgeContacts(p *pair) {
	alice, bob := pnJID("15550002001", 0), lidJID("9000001", 0)
	push := func(user types.JID, name string) string {
		return p.same("PutPushName "+name, func(s allStores) (string, error) {
			changed, prev, err := s.PutPushName(p.ctx, user, name)
			return render(changed, prev), err
		})
	}
	contact := func(user types.JID) string {
		return p.same("GetContact "+user.String(), func(s allStores) (string, error) { v, err := s.GetContact(p.ctx, user); return render(v), err })
	}
	p.want(push(alice, "Alice"), "true \"\"")
	p.want(push(alice, "Alice"), "false \"\"")
	p.want(push(alice, "Alicia"), "true \"Alice\"")
	p.same("PutBusinessName", func(s allStores) (string, error) {
		changed, prev, err := s.PutBusinessName(p.ctx, bob, "Bob's")
		return render(changed, prev), err
	})
	p.exec("PutContactName", func(s allStores) error { return s.PutContactName(p.ctx, alice, "Al", "Alice Smith") })
	contact(alice)
	contact(bob)
	contact(pnJID("15550002001", 3))
	// The cache answers what PutAllContactNames does not clear first: read, change underneath, read.
	p.exec("PutAllContactNames", func(s allStores) error {
		return s.PutAllContactNames(p.ctx, []store.ContactEntry{{JID: alice, FirstName: "A", FullName: "A S"}, {JID: bob, FirstName: "B"}})
	})
	contact(alice)
	p.exec("PutManyRedactedPhones", func(s allStores) error {
		return s.PutManyRedactedPhones(p.ctx, []store.RedactedPhoneEntry{{JID: bob, RedactedPhone: "+1 555 ***"}, {JID: bob, RedactedPhone: "ignored"}})
	})
	contact(bob)
	p.same("GetAllContacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })
	p.withStores(p.fresh()).same("GetAllContacts fresh", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })
}

func edgeChatSettings(p *pair) {
	chat := types.NewJID("120363000000001", types.GroupServer)
	get := func() string {
		return p.same("GetChatSettings", func(s allStores) (string, error) { v, err := s.GetChatSettings(p.ctx, chat); return render(v), err })
	}
	p.exec("PutPinned", func(s allStores) error { return s.PutPinned(p.ctx, chat, true) })
	get()
	for _, until := range []time.Time{store.MutedForever, time.Unix(1.8e9, 0), {}} {
		p.exec("PutMutedUntil", func(s allStores) error { return s.PutMutedUntil(p.ctx, chat, until) })
		get()
	}
	p.exec("PutArchived", func(s allStores) error { return s.PutArchived(p.ctx, chat, true) })
	p.exec("PutPinned", func(s allStores) error { return s.PutPinned(p.ctx, chat, false) })
	p.want(get(), render(types.LocalChatSettings{Found: true, Archived: true}))
}

func edgeEventBuffer(p *pair) {
	old, recent := [32]byte{1}, [32]byte{2}
	// Buffer one event 15 days ago: this store through its clock, sqlstore by editing its row.
	p.ddbC.now = func() time.Time { return time.Now().Add(-15 * 24 * time.Hour) }
	p.exec("PutBufferedEvent old", func(s allStores) error { return s.PutBufferedEvent(p.ctx, old, []byte("old"), time.Unix(1.7e9, 0)) })
	p.ddbC.now = time.Now
	if _, err := p.sqlDB.Exec("UPDATE whatsmeow_event_buffer SET insert_timestamp = ?", time.Now().Add(-15*24*time.Hour).UnixMilli()); err != nil {
		p.t.Fatalf("backdate sqlstore's event: %v", err)
	}
	p.exec("PutBufferedEvent recent", func(s allStores) error {
		return s.PutBufferedEvent(p.ctx, recent, []byte("recent"), time.Unix(1.7e9, 0))
	})
	p.exec("PutBufferedEvent twice fails", func(s allStores) error {
		return s.PutBufferedEvent(p.ctx, recent, []byte("again"), time.Unix(1.7e9, 0))
	})
	get := func(h [32]byte) string {
		return p.same(fmt.Sprintf("GetBufferedEvent %x", h[0]), func(s allStores) (string, error) {
			v, err := s.GetBufferedEvent(p.ctx, h)
			return render(v), err
		})
	}
	get(old)
	p.want(get(recent), render(&store.BufferedEvent{Plaintext: []byte("recent"), ServerTime: time.Unix(1.7e9, 0), InsertTime: time.Now()}))
	p.exec("ClearBufferedEventPlaintext", func(s allStores) error { return s.ClearBufferedEventPlaintext(p.ctx, recent) })
	p.want(get(recent), render(&store.BufferedEvent{ServerTime: time.Unix(1.7e9, 0), InsertTime: time.Now()}))
	p.exec("DeleteOldBufferedHashes", func(s allStores) error { return s.DeleteOldBufferedHashes(p.ctx) })
	p.want(get(old), "no-event")
	p.want(get(recent), render(&store.BufferedEvent{ServerTime: time.Unix(1.7e9, 0), InsertTime: time.Now()}))
	// A nested DoDecryptionTxn runs inside the outer one (no deadlock on this store's lock).
	p.exec("DoDecryptionTxn nested", func(s allStores) error {
		return s.DoDecryptionTxn(p.ctx, func(ctx context.Context) error {
			return s.DoDecryptionTxn(ctx, func(ctx context.Context) error { return s.PutSession(ctx, "1:1", []byte("x")) })
		})
	})
}

// TestDeviceRoundTrip compares the device row through PutDevice, GetDevice, GetAllDevices and
// DeleteDevice, and that deleting a device deletes its data as sqlstore's cascades do.
func TestDeviceRoundTrip(t *testing.T) {
	t.Parallel()
	p := newPair(t)
	ctx := p.ctx
	containers := [2]interface {
		NewDevice() *store.Device
		GetDevice(context.Context, types.JID) (*store.Device, error)
		GetAllDevices(context.Context) ([]*store.Device, error)
		PutDevice(context.Context, *store.Device) error
		DeleteDevice(context.Context, *store.Device) error
	}{p.sqlC, p.ddbC}
	renderDevice := func(d *store.Device) string {
		if d == nil {
			return "no-device"
		}
		return render(d.ID.String(), d.LID, d.RegistrationID, d.NoiseKey.Priv[:], d.NoiseKey.Pub[:], d.IdentityKey.Priv[:],
			d.SignedPreKey.Priv[:], d.SignedPreKey.KeyID, d.SignedPreKey.Signature[:], d.AdvSecretKey,
			d.Account.Details, d.Account.AccountSignature, d.Account.AccountSignatureKey, d.Account.DeviceSignature,
			d.Platform, d.BusinessName, d.PushName, d.FacebookUUID.String(), d.LIDMigrationTimestamp, d.Initialized)
	}
	compare := func(name string, op func(i int) (string, error)) string {
		t.Helper()
		var got [2]string
		var errs [2]error
		for i := range containers {
			got[i], errs[i] = op(i)
		}
		if (errs[0] == nil) != (errs[1] == nil) || got[0] != got[1] {
			t.Fatalf("%s:\n  sqlstore    %s %v\n  dynamostore %s %v", name, got[0], errs[0], got[1], errs[1])
		}
		return got[0]
	}
	second := types.JID{User: "15550002222", Device: 3, Server: types.DefaultUserServer}
	secondDevs := [2]*store.Device{pairedDevice(p.sqlC, second), pairedDevice(p.ddbC, second)}
	copyKeys(secondDevs[1], secondDevs[0])
	for _, d := range secondDevs {
		d.FacebookUUID = uuid.MustParse("0b5a8f52-6a2b-4e39-8b52-5c5bd8b7c1a4")
		d.LIDMigrationTimestamp = 1_764_000_000
		d.LID = types.EmptyJID
	}
	compare("PutDevice second", func(i int) (string, error) { return "", containers[i].PutDevice(ctx, secondDevs[i]) })
	get := func(jid types.JID) string {
		return compare("GetDevice "+jid.String(), func(i int) (string, error) {
			d, err := containers[i].GetDevice(ctx, jid)
			return renderDevice(d), err
		})
	}
	get(ourJID)
	get(second)
	p.want(get(types.JID{User: "404", Server: types.DefaultUserServer}), "no-device")
	p.want(get(types.EmptyJID), "no-device")
	all := func() string {
		return compare("GetAllDevices", func(i int) (string, error) {
			ds, err := containers[i].GetAllDevices(ctx)
			var out []string
			for _, d := range ds {
				out = append(out, renderDevice(d))
			}
			slices.Sort(out) // sqlstore answers in insertion order, this store in JID order
			return fmt.Sprint(out), err
		})
	}
	all()

	// Saving again changes the names and LID but never the keys.
	for i, c := range containers {
		d, err := c.GetDevice(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		d.PushName, d.Platform, d.BusinessName = "Renamed", "ios", ""
		d.LID, d.LIDMigrationTimestamp = lidJID("90000002222", 3), 42
		d.RegistrationID++
		d.NoiseKey = p.ddbC.NewDevice().NoiseKey
		d.FacebookUUID = uuid.Nil
		compare(fmt.Sprint("PutDevice again ", i), func(j int) (string, error) {
			if i != j {
				return "", nil
			}
			return "", c.PutDevice(ctx, d)
		})
	}
	get(second)

	compare("PutDevice without ID", func(i int) (string, error) { return "", containers[i].PutDevice(ctx, &store.Device{}) })
	compare("DeleteDevice without ID", func(i int) (string, error) { return "", containers[i].DeleteDevice(ctx, &store.Device{}) })
	third := types.JID{User: "15550003333", Device: 1, Server: types.DefaultUserServer}
	for _, breakIt := range []func(d *store.Device){
		func(d *store.Device) { d.AdvSecretKey = nil },
		func(d *store.Device) { d.Account.Details = nil },
		func(d *store.Device) { d.Account.DeviceSignature = d.Account.DeviceSignature[:63] },
	} {
		compare("PutDevice refused by sqlstore's schema", func(i int) (string, error) {
			d := pairedDevice(containers[i], third)
			breakIt(d)
			return "", containers[i].PutDevice(ctx, d)
		})
		get(third)
	}

	// Delete the first device after giving it data of every kind.
	p.putSession("1:1", []byte("s"))
	p.putIdentity("1:1", [32]byte{1})
	p.exec("PutSenderKey", func(s allStores) error { return s.PutSenderKey(ctx, "g@g.us", "1:1", []byte("k")) })
	p.exec("GetOrGenPreKeys", func(s allStores) error { _, err := s.GetOrGenPreKeys(ctx, 3); return err })
	p.exec("PutAppStateSyncKey", func(s allStores) error {
		return s.PutAppStateSyncKey(ctx, []byte{1}, store.AppStateSyncKey{Data: []byte("d"), Timestamp: 1, Fingerprint: []byte("f")})
	})
	p.exec("PutAppStateVersion", func(s allStores) error { return s.PutAppStateVersion(ctx, "regular", 1, [128]byte{1}) })
	p.exec("PutAppStateMutationMACs", func(s allStores) error {
		return s.PutAppStateMutationMACs(ctx, "regular", 1, []store.AppStateMutationMAC{{IndexMAC: filled(32, 1), ValueMAC: filled(32, 2)}})
	})
	p.exec("PutPushName", func(s allStores) error { _, _, err := s.PutPushName(ctx, pnJID("1", 0), "One"); return err })
	p.exec("PutPinned", func(s allStores) error { return s.PutPinned(ctx, pnJID("1", 0), true) })
	p.exec("PutMessageSecret", func(s allStores) error {
		return s.PutMessageSecret(ctx, pnJID("1", 0), pnJID("1", 0), "M", []byte("x"))
	})
	p.exec("PutPrivacyTokens", func(s allStores) error {
		return s.PutPrivacyTokens(ctx, store.PrivacyToken{User: pnJID("1", 0), Token: []byte("t"), Timestamp: time.Unix(1, 0)})
	})
	p.exec("PutBufferedEvent", func(s allStores) error { return s.PutBufferedEvent(ctx, [32]byte{1}, []byte("p"), time.Unix(1, 0)) })
	p.exec("PutLIDMapping", func(s allStores) error { return s.PutLIDMapping(ctx, lidJID("9", 0), pnJID("1", 0)) })
	compare("DeleteDevice", func(i int) (string, error) {
		d, err := containers[i].GetDevice(ctx, ourJID)
		if err != nil {
			return "", err
		}
		return "", d.Delete(ctx)
	})
	p.want(get(ourJID), "no-device")
	all()

	// The same JID paired again finds none of the old data but privacy tokens and LID map.
	sqlDev, ddbDev := pairedDevice(p.sqlC, ourJID), pairedDevice(p.ddbC, ourJID)
	copyKeys(ddbDev, sqlDev)
	if err := sqlDev.Save(ctx); err != nil {
		t.Fatal(err)
	}
	if err := ddbDev.Save(ctx); err != nil {
		t.Fatal(err)
	}
	q := p.withStores(p.fresh())
	q.session("1:1")
	q.trusted("1:1", [32]byte{2})
	q.senderKey("g@g.us", "1:1")
	q.same("GetPreKey", func(s allStores) (string, error) { v, err := s.GetPreKey(ctx, 1); return render(v), err })
	q.same("GetAppStateSyncKey", func(s allStores) (string, error) {
		v, err := s.GetAppStateSyncKey(ctx, []byte{1})
		return render(v), err
	})
	q.same("GetAppStateVersion", func(s allStores) (string, error) {
		v, h, err := s.GetAppStateVersion(ctx, "regular")
		return render(v, h), err
	})
	q.mac("regular", filled(32, 1))
	q.same("GetAllContacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(ctx); return render(v), err })
	q.same("GetChatSettings", func(s allStores) (string, error) {
		v, err := s.GetChatSettings(ctx, pnJID("1", 0))
		return render(v), err
	})
	q.same("GetMessageSecret", func(s allStores) (string, error) {
		v, real, err := s.GetMessageSecret(ctx, pnJID("1", 0), pnJID("1", 0), "M")
		return render(v, real), err
	})
	q.want(q.same("GetPrivacyToken", func(s allStores) (string, error) {
		v, err := s.GetPrivacyToken(ctx, pnJID("1", 0))
		return render(v), err
	}),
		render(&store.PrivacyToken{User: pnJID("1", 0), Token: []byte("t"), Timestamp: time.Unix(1, 0)}))
	q.same("GetBufferedEvent", func(s allStores) (string, error) {
		v, err := s.GetBufferedEvent(ctx, [32]byte{1})
		return render(v), err
	})
	q.want(q.same("GetLIDForPN", func(s allStores) (string, error) { v, err := s.GetLIDForPN(ctx, pnJID("1", 0)); return render(v), err }), "jid(9@lid)")
}

// sqlstore's schema refuses nil where a column is NOT NULL, and SQLite answers empty blobs as nil.
func edgeNilValues(p *pair) {
	p.exec("PutSenderKey nil fails", func(s allStores) error { return s.PutSenderKey(p.ctx, "g@g.us", "1:1", nil) })
	p.senderKey("g@g.us", "1:1")
	p.exec("PutMessageSecret nil fails", func(s allStores) error { return s.PutMessageSecret(p.ctx, pnJID("1", 0), pnJID("1", 0), "M", nil) })
	p.exec("PutMessageSecrets with one nil writes none", func(s allStores) error {
		return s.PutMessageSecrets(p.ctx, []store.MessageSecretInsert{
			{Chat: pnJID("1", 0), Sender: pnJID("1", 0), ID: "A", Secret: []byte("a")},
			{Chat: pnJID("1", 0), Sender: pnJID("1", 0), ID: "B"},
		})
	})
	p.same("GetMessageSecret A", func(s allStores) (string, error) {
		v, real, err := s.GetMessageSecret(p.ctx, pnJID("1", 0), pnJID("1", 0), "A")
		return render(v, real), err
	})
	p.exec("PutAppStateSyncKey nil data fails", func(s allStores) error {
		return s.PutAppStateSyncKey(p.ctx, []byte{1}, store.AppStateSyncKey{Fingerprint: []byte{1}, Timestamp: 1})
	})
	p.exec("PutPrivacyTokens nil token fails", func(s allStores) error {
		return s.PutPrivacyTokens(p.ctx, store.PrivacyToken{User: pnJID("1", 0), Timestamp: time.Unix(1, 0)})
	})
	p.putSession("2:1", []byte{})
	p.want(p.session("2:1"), render([]byte(nil), true))
	p.exec("PutBufferedEvent nil", func(s allStores) error { return s.PutBufferedEvent(p.ctx, [32]byte{9}, nil, time.Unix(1, 0)) })
	p.same("GetBufferedEvent nil", func(s allStores) (string, error) {
		v, err := s.GetBufferedEvent(p.ctx, [32]byte{9})
		return render(v), err
	})
	p.exec("PutMutedUntil MutedForever in local time", func(s allStores) error {
		return s.PutMutedUntil(p.ctx, pnJID("1", 0), store.MutedForever.In(time.FixedZone("X", 3600)))
	})
	p.same("GetChatSettings", func(s allStores) (string, error) {
		v, err := s.GetChatSettings(p.ctx, pnJID("1", 0))
		return render(v), err
	})
}
