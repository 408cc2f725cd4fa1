package dynamostore

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
)

// randomSeed fixes the random operation sequence; change it to explore another one.
const randomSeed = 20261129

// randomOps is how many random operations TestRandomOperations compares.
const randomOps = 1200

// Pools the random operations draw from. They are small so that operations meet: overwrites,
// deletes of stored data, remappings. "1555000" is a LID whose signal user "1555000_1" matches
// the phone number "155500091" under SQLite's LIKE (`_` is a wildcard), and "1555000200" is a
// prefix of other phone numbers.
var (
	pnUsers   = []string{"15550002001", "15550002002", "1555000200", "155500091", "15550002003"}
	lidUsers  = []string{"9000001", "9000002", "1555000", "90000011"}
	devices   = []uint16{0, 1, 12}
	groups    = []string{"120363000000001@g.us", "120363000000002@g.us", "status@broadcast"}
	appNames  = []string{"critical_block", "regular", "regular_low"}
	syncIDs   = [][]byte{{0, 0, 1}, {0, 0, 2}, {0, 1}, {9}}
	identitys = [][32]byte{{1}, {2}, {3}}
)

func pnJID(user string, device uint16) types.JID {
	return types.JID{User: user, Device: device, Server: types.DefaultUserServer}
}

func lidJID(user string, device uint16) types.JID {
	return types.JID{User: user, Device: device, Server: types.HiddenUserServer}
}

// gen draws operation arguments.
type gen struct {
	r *rand.Rand
	// msgSecrets are the inserts made, to put again or look up.
	msgSecrets []store.MessageSecretInsert
	// versions counts up the app state versions used.
	version  uint64
	indexMAC [][]byte
	hashes   [][32]byte
	msgID    int
}

func newGen(seed uint64) *gen {
	g := &gen{r: rand.New(rand.NewPCG(seed, seed))}
	for range 12 {
		g.indexMAC = append(g.indexMAC, g.bytes(32))
	}
	for range 6 {
		g.hashes = append(g.hashes, [32]byte(g.bytes(32)))
	}
	return g
}

func pick[T any](g *gen, from []T) T { return from[g.r.IntN(len(from))] }

func (g *gen) bytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(g.r.UintN(256))
	}
	return b
}

// userJID is a phone number or LID user, with a device sometimes.
func (g *gen) userJID() types.JID {
	dev := uint16(0)
	if g.r.IntN(4) == 0 {
		dev = pick(g, devices)
	}
	if g.r.IntN(2) == 0 {
		return pnJID(pick(g, pnUsers), dev)
	}
	return lidJID(pick(g, lidUsers), dev)
}

func (g *gen) address() string {
	dev := pick(g, devices)
	if g.r.IntN(2) == 0 {
		return pnJID(pick(g, pnUsers), dev).SignalAddress().String()
	}
	return lidJID(pick(g, lidUsers), dev).SignalAddress().String()
}

func (g *gen) phone() string {
	if g.r.IntN(2) == 0 {
		return pick(g, pnUsers)
	}
	return lidJID(pick(g, lidUsers), 0).SignalAddressUser()
}

func (g *gen) addresses(max int) []string {
	out := make([]string, 1+g.r.IntN(max))
	for i := range out {
		out[i] = g.address()
	}
	return out
}

func (g *gen) value() []byte {
	if g.r.IntN(20) == 0 {
		return nil
	}
	return g.bytes(g.r.IntN(200))
}

func (g *gen) name() string { return fmt.Sprintf("Name %d", g.r.IntN(4)) }

// op is one kind of random operation.
type op struct {
	name   string
	weight int
	run    func(p *pair, g *gen)
}

// preKeyState follows, per store, the private keys generation answered.
type preKeyState struct{ generated [2]map[uint32][32]byte }

func (ps *preKeyState) remember(i int, preKeys ...*keys.PreKey) {
	for _, k := range preKeys {
		ps.generated[i][k.KeyID] = *k.Priv
	}
}

func randomOpsList(ps *preKeyState) []op {
	return []op{
		{"PutSession", 6, func(p *pair, g *gen) {
			addr, v := g.address(), g.value()
			p.exec("PutSession "+addr, func(s allStores) error { return s.PutSession(p.ctx, addr, v) })
		}},
		{"PutManySessions", 2, func(p *pair, g *gen) {
			sessions := map[string][]byte{}
			for _, a := range g.addresses(8) {
				sessions[a] = g.value()
			}
			p.exec("PutManySessions", func(s allStores) error { return s.PutManySessions(p.ctx, sessions) })
		}},
		{"GetSession", 5, func(p *pair, g *gen) {
			addr := g.address()
			p.same("GetSession "+addr, func(s allStores) (string, error) { v, err := s.GetSession(p.ctx, addr); return render(v), err })
		}},
		{"HasSession", 3, func(p *pair, g *gen) {
			addr := g.address()
			p.same("HasSession "+addr, func(s allStores) (string, error) { v, err := s.HasSession(p.ctx, addr); return render(v), err })
		}},
		{"GetManySessions", 3, func(p *pair, g *gen) {
			addrs := g.addresses(10)
			p.same(fmt.Sprint("GetManySessions ", addrs), func(s allStores) (string, error) {
				v, err := s.GetManySessions(p.ctx, addrs)
				return render(v), err
			})
		}},
		{"DeleteSession", 2, func(p *pair, g *gen) {
			addr := g.address()
			p.exec("DeleteSession "+addr, func(s allStores) error { return s.DeleteSession(p.ctx, addr) })
		}},
		{"DeleteAllSessions", 1, func(p *pair, g *gen) {
			phone := g.phone()
			p.exec("DeleteAllSessions "+phone, func(s allStores) error { return s.DeleteAllSessions(p.ctx, phone) })
		}},
		{"PutIdentity", 4, func(p *pair, g *gen) {
			addr, k := g.address(), pick(g, identitys)
			p.exec("PutIdentity "+addr, func(s allStores) error { return s.PutIdentity(p.ctx, addr, k) })
		}},
		{"IsTrustedIdentity", 4, func(p *pair, g *gen) {
			addr, k := g.address(), pick(g, identitys)
			p.same("IsTrustedIdentity "+addr, func(s allStores) (string, error) {
				v, err := s.IsTrustedIdentity(p.ctx, addr, k)
				return render(v), err
			})
		}},
		{"DeleteIdentity", 1, func(p *pair, g *gen) {
			addr := g.address()
			p.exec("DeleteIdentity "+addr, func(s allStores) error { return s.DeleteIdentity(p.ctx, addr) })
		}},
		{"DeleteAllIdentities", 1, func(p *pair, g *gen) {
			phone := g.phone()
			p.exec("DeleteAllIdentities "+phone, func(s allStores) error { return s.DeleteAllIdentities(p.ctx, phone) })
		}},
		{"MigratePNToLID", 1, func(p *pair, g *gen) {
			pn, lid := pnJID(pick(g, pnUsers), 0), lidJID(pick(g, lidUsers), 0)
			p.exec(fmt.Sprintf("MigratePNToLID %s %s", pn, lid), func(s allStores) error { return s.MigratePNToLID(p.ctx, pn, lid) })
		}},
		{"PutSenderKey", 3, func(p *pair, g *gen) {
			group, user, v := pick(g, groups), g.address(), g.bytes(1+g.r.IntN(100))
			p.exec("PutSenderKey "+group+" "+user, func(s allStores) error { return s.PutSenderKey(p.ctx, group, user, v) })
		}},
		{"GetSenderKey", 3, func(p *pair, g *gen) {
			group, user := pick(g, groups), g.address()
			p.same("GetSenderKey "+group+" "+user, func(s allStores) (string, error) { v, err := s.GetSenderKey(p.ctx, group, user); return render(v), err })
		}},
		{"GenOnePreKey", 2, func(p *pair, g *gen) {
			i := 0
			p.same("GenOnePreKey", func(s allStores) (string, error) {
				k, err := s.GenOnePreKey(p.ctx)
				if err == nil {
					ps.remember(i, k)
				}
				i++
				return render(k), err
			})
		}},
		{"GetOrGenPreKeys", 2, func(p *pair, g *gen) {
			n := uint32(1 + g.r.IntN(8))
			i := 0
			p.same(fmt.Sprint("GetOrGenPreKeys ", n), func(s allStores) (string, error) {
				ks, err := s.GetOrGenPreKeys(p.ctx, n)
				for _, k := range ks {
					ps.remember(i, k)
				}
				i++
				return render(ks), err
			})
		}},
		{"GetPreKey", 3, func(p *pair, g *gen) {
			id := uint32(g.r.IntN(30))
			p.same(fmt.Sprint("GetPreKey ", id), func(s allStores) (string, error) { v, err := s.GetPreKey(p.ctx, id); return render(v), err })
		}},
		{"RemovePreKey", 2, func(p *pair, g *gen) {
			id := uint32(g.r.IntN(30))
			p.exec(fmt.Sprint("RemovePreKey ", id), func(s allStores) error { return s.RemovePreKey(p.ctx, id) })
		}},
		{"MarkPreKeysAsUploaded", 1, func(p *pair, g *gen) {
			id := uint32(g.r.IntN(30))
			p.exec(fmt.Sprint("MarkPreKeysAsUploaded ", id), func(s allStores) error { return s.MarkPreKeysAsUploaded(p.ctx, id) })
		}},
		{"UploadedPreKeyCount", 2, func(p *pair, g *gen) {
			p.same("UploadedPreKeyCount", func(s allStores) (string, error) { v, err := s.UploadedPreKeyCount(p.ctx); return render(v), err })
		}},
		{"PutAppStateSyncKey", 2, func(p *pair, g *gen) {
			id := pick(g, syncIDs)
			k := store.AppStateSyncKey{Data: g.bytes(32), Fingerprint: g.bytes(8), Timestamp: int64(1 + g.r.IntN(6))}
			p.exec(fmt.Sprintf("PutAppStateSyncKey %x ts %d", id, k.Timestamp), func(s allStores) error { return s.PutAppStateSyncKey(p.ctx, id, k) })
		}},
		{"GetAppStateSyncKey", 2, func(p *pair, g *gen) {
			id := pick(g, syncIDs)
			p.same(fmt.Sprintf("GetAppStateSyncKey %x", id), func(s allStores) (string, error) { v, err := s.GetAppStateSyncKey(p.ctx, id); return render(v), err })
		}},
		{"GetLatestAppStateSyncKeyID", 2, func(p *pair, g *gen) {
			p.same("GetLatestAppStateSyncKeyID", func(s allStores) (string, error) {
				v, err := s.GetLatestAppStateSyncKeyID(p.ctx)
				return render(v), err
			})
		}},
		{"PutAppStateVersion", 2, func(p *pair, g *gen) {
			name := pick(g, appNames)
			g.version++
			version, hash := g.version, [128]byte(g.bytes(128))
			p.exec(fmt.Sprint("PutAppStateVersion ", name, version), func(s allStores) error { return s.PutAppStateVersion(p.ctx, name, version, hash) })
		}},
		{"GetAppStateVersion", 2, func(p *pair, g *gen) {
			name := pick(g, appNames)
			p.same("GetAppStateVersion "+name, func(s allStores) (string, error) {
				v, h, err := s.GetAppStateVersion(p.ctx, name)
				return render(v, h), err
			})
		}},
		{"DeleteAppStateVersion", 1, func(p *pair, g *gen) {
			name := pick(g, appNames)
			p.exec("DeleteAppStateVersion "+name, func(s allStores) error { return s.DeleteAppStateVersion(p.ctx, name) })
		}},
		{"PutAppStateMutationMACs", 3, func(p *pair, g *gen) {
			name := pick(g, appNames)
			g.version++
			version := g.version
			var muts []store.AppStateMutationMAC
			for _, m := range dedupeFirst(g.pickMACs(6), func(b []byte) string { return string(b) }) {
				muts = append(muts, store.AppStateMutationMAC{IndexMAC: m, ValueMAC: g.bytes(32)})
			}
			p.exec(fmt.Sprint("PutAppStateMutationMACs ", name, version, len(muts)), func(s allStores) error {
				return s.PutAppStateMutationMACs(p.ctx, name, version, muts)
			})
		}},
		{"DeleteAppStateMutationMACs", 2, func(p *pair, g *gen) {
			name, macs := pick(g, appNames), g.pickMACs(4)
			p.exec("DeleteAppStateMutationMACs "+name, func(s allStores) error { return s.DeleteAppStateMutationMACs(p.ctx, name, macs) })
		}},
		{"GetAppStateMutationMAC", 4, func(p *pair, g *gen) {
			name, mac := pick(g, appNames), pick(g, g.indexMAC)
			p.same(fmt.Sprintf("GetAppStateMutationMAC %s %x", name, mac[:4]), func(s allStores) (string, error) {
				v, err := s.GetAppStateMutationMAC(p.ctx, name, mac)
				return render(v), err
			})
		}},
		{"PutPushName", 3, func(p *pair, g *gen) {
			user, name := g.userJID(), g.name()
			p.same("PutPushName "+user.String()+" "+name, func(s allStores) (string, error) {
				changed, prev, err := s.PutPushName(p.ctx, user, name)
				return render(changed, prev), err
			})
		}},
		{"PutBusinessName", 2, func(p *pair, g *gen) {
			user, name := g.userJID(), g.name()
			p.same("PutBusinessName "+user.String()+" "+name, func(s allStores) (string, error) {
				changed, prev, err := s.PutBusinessName(p.ctx, user, name)
				return render(changed, prev), err
			})
		}},
		{"PutContactName", 2, func(p *pair, g *gen) {
			user, first, full := g.userJID(), g.name(), g.name()
			p.exec("PutContactName "+user.String(), func(s allStores) error { return s.PutContactName(p.ctx, user, first, full) })
		}},
		{"PutAllContactNames", 1, func(p *pair, g *gen) {
			var entries []store.ContactEntry
			for range 1 + g.r.IntN(8) {
				entries = append(entries, store.ContactEntry{JID: g.userJID(), FirstName: g.name(), FullName: g.name()})
			}
			p.exec("PutAllContactNames", func(s allStores) error { return s.PutAllContactNames(p.ctx, slices.Clone(entries)) })
		}},
		{"PutManyRedactedPhones", 1, func(p *pair, g *gen) {
			var entries []store.RedactedPhoneEntry
			for range 1 + g.r.IntN(5) {
				entries = append(entries, store.RedactedPhoneEntry{JID: g.userJID(), RedactedPhone: fmt.Sprintf("+1 555 ***-**%02d", g.r.IntN(3))})
			}
			p.exec("PutManyRedactedPhones", func(s allStores) error { return s.PutManyRedactedPhones(p.ctx, slices.Clone(entries)) })
		}},
		{"GetContact", 4, func(p *pair, g *gen) {
			user := g.userJID()
			p.same("GetContact "+user.String(), func(s allStores) (string, error) { v, err := s.GetContact(p.ctx, user); return render(v), err })
		}},
		{"GetAllContacts", 1, func(p *pair, g *gen) {
			p.same("GetAllContacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })
		}},
		{"PutMutedUntil", 1, func(p *pair, g *gen) {
			chat := pick(g, []types.JID{g.userJID(), types.NewJID("120363000000001", types.GroupServer)})
			until := pick(g, []time.Time{{}, store.MutedForever, time.Unix(int64(1.7e9+g.r.IntN(1e6)), 0)})
			p.exec("PutMutedUntil "+chat.String(), func(s allStores) error { return s.PutMutedUntil(p.ctx, chat, until) })
		}},
		{"PutPinned", 1, func(p *pair, g *gen) {
			chat, v := g.userJID(), g.r.IntN(2) == 0
			p.exec("PutPinned "+chat.String(), func(s allStores) error { return s.PutPinned(p.ctx, chat, v) })
		}},
		{"PutArchived", 1, func(p *pair, g *gen) {
			chat, v := g.userJID(), g.r.IntN(2) == 0
			p.exec("PutArchived "+chat.String(), func(s allStores) error { return s.PutArchived(p.ctx, chat, v) })
		}},
		{"GetChatSettings", 2, func(p *pair, g *gen) {
			chat := pick(g, []types.JID{g.userJID(), types.NewJID("120363000000001", types.GroupServer)})
			p.same("GetChatSettings "+chat.String(), func(s allStores) (string, error) { v, err := s.GetChatSettings(p.ctx, chat); return render(v), err })
		}},
		{"PutMessageSecret", 3, func(p *pair, g *gen) {
			m := g.msgSecret()
			p.exec("PutMessageSecret "+m.ID, func(s allStores) error { return s.PutMessageSecret(p.ctx, m.Chat, m.Sender, m.ID, m.Secret) })
		}},
		{"PutMessageSecrets", 1, func(p *pair, g *gen) {
			var ms []store.MessageSecretInsert
			for range 1 + g.r.IntN(6) {
				ms = append(ms, g.msgSecret())
			}
			p.exec("PutMessageSecrets", func(s allStores) error { return s.PutMessageSecrets(p.ctx, ms) })
		}},
		{"GetMessageSecret", 4, func(p *pair, g *gen) {
			chat, sender, id := g.chat(), g.userJID(), fmt.Sprintf("3EB0%04d", g.r.IntN(g.msgID+1))
			if len(g.msgSecrets) > 0 && g.r.IntN(2) == 0 {
				m := pick(g, g.msgSecrets)
				chat, sender, id = m.Chat, m.Sender, m.ID
				if g.r.IntN(2) == 0 {
					sender = g.userJID()
				}
			}
			p.same(fmt.Sprintf("GetMessageSecret %s %s %s", chat, sender, id), func(s allStores) (string, error) {
				v, real, err := s.GetMessageSecret(p.ctx, chat, sender, id)
				return render(v, real), err
			})
		}},
		{"PutPrivacyTokens", 2, func(p *pair, g *gen) {
			var ts []store.PrivacyToken
			for range 1 + g.r.IntN(4) {
				ts = append(ts, store.PrivacyToken{User: g.userJID(), Token: g.bytes(16), Timestamp: time.Unix(int64(1.7e9+g.r.IntN(1e8)), 0)})
			}
			p.exec("PutPrivacyTokens", func(s allStores) error { return s.PutPrivacyTokens(p.ctx, ts...) })
		}},
		{"GetPrivacyToken", 3, func(p *pair, g *gen) {
			user := g.userJID()
			p.same("GetPrivacyToken "+user.String(), func(s allStores) (string, error) { v, err := s.GetPrivacyToken(p.ctx, user); return render(v), err })
		}},
		{"PutBufferedEvent", 2, func(p *pair, g *gen) {
			h, pt, ts := pick(g, g.hashes), g.value(), time.Unix(int64(1.7e9+g.r.IntN(1e6)), 0)
			p.exec(fmt.Sprintf("PutBufferedEvent %x", h[:4]), func(s allStores) error { return s.PutBufferedEvent(p.ctx, h, pt, ts) })
		}},
		{"GetBufferedEvent", 2, func(p *pair, g *gen) {
			h := pick(g, g.hashes)
			p.same(fmt.Sprintf("GetBufferedEvent %x", h[:4]), func(s allStores) (string, error) { v, err := s.GetBufferedEvent(p.ctx, h); return render(v), err })
		}},
		{"ClearBufferedEventPlaintext", 1, func(p *pair, g *gen) {
			h := pick(g, g.hashes)
			p.exec(fmt.Sprintf("ClearBufferedEventPlaintext %x", h[:4]), func(s allStores) error { return s.ClearBufferedEventPlaintext(p.ctx, h) })
		}},
		{"DeleteOldBufferedHashes", 1, func(p *pair, g *gen) {
			p.exec("DeleteOldBufferedHashes", func(s allStores) error { return s.DeleteOldBufferedHashes(p.ctx) })
		}},
		{"DoDecryptionTxn", 2, func(p *pair, g *gen) {
			// What whatsmeow's decryption does inside: read and write the session, identity,
			// pre-key and sender key, buffer the plaintext (the hash may be buffered already,
			// which fails), sometimes fail. Reads inside must see the writes inside, and a
			// failure must leave nothing written, on both stores.
			addr, other, v, h := g.address(), g.address(), g.value(), pick(g, g.hashes)
			id, ik, group := uint32(g.r.IntN(30)), pick(g, identitys), pick(g, groups)
			fail := g.r.IntN(3) == 0
			p.same(fmt.Sprintf("DoDecryptionTxn %s fail=%v", addr, fail), func(s allStores) (string, error) {
				var reads []string
				read := func(v ...any) { reads = append(reads, render(v...)) }
				err := s.DoDecryptionTxn(p.ctx, func(ctx context.Context) error {
					before, err := s.GetSession(ctx, addr)
					if err != nil {
						return err
					}
					read(before)
					if err := s.PutSession(ctx, addr, v); err != nil {
						return err
					}
					after, _ := s.GetSession(ctx, addr)
					has, _ := s.HasSession(ctx, addr)
					many, _ := s.GetManySessions(ctx, []string{addr, other})
					read(after, has, many)
					if err := s.PutIdentity(ctx, addr, ik); err != nil {
						return err
					}
					trusted, _ := s.IsTrustedIdentity(ctx, addr, ik)
					read(trusted)
					if err := s.RemovePreKey(ctx, id); err != nil {
						return err
					}
					pk, _ := s.GetPreKey(ctx, id)
					read(pk)
					if err := s.PutSenderKey(ctx, group, addr, []byte("sk")); err != nil {
						return err
					}
					sk, _ := s.GetSenderKey(ctx, group, addr)
					read(sk)
					if err := s.PutBufferedEvent(ctx, h, v, time.Unix(1.7e9, 0)); err != nil {
						return err
					}
					ev, _ := s.GetBufferedEvent(ctx, h)
					read(ev)
					if fail {
						return errors.New("decryption failed")
					}
					return nil
				})
				return fmt.Sprint(reads, " failed=", err != nil), nil
			})
		}},
		{"PutLIDMapping", 2, func(p *pair, g *gen) {
			lid, pn := lidJID(pick(g, lidUsers), 0), pnJID(pick(g, pnUsers), 0)
			p.exec("PutLIDMapping "+lid.String()+" "+pn.String(), func(s allStores) error { return s.PutLIDMapping(p.ctx, lid, pn) })
		}},
		{"PutManyLIDMappings", 1, func(p *pair, g *gen) {
			var ms []store.LIDMapping
			for range 1 + g.r.IntN(5) {
				ms = append(ms, store.LIDMapping{LID: lidJID(pick(g, lidUsers), 0), PN: pnJID(pick(g, pnUsers), 0)})
			}
			p.exec(fmt.Sprint("PutManyLIDMappings ", ms), func(s allStores) error { return s.PutManyLIDMappings(p.ctx, slices.Clone(ms)) })
		}},
		{"GetLIDForPN", 3, func(p *pair, g *gen) {
			pn := pnJID(pick(g, pnUsers), pick(g, devices))
			p.same("GetLIDForPN "+pn.String(), func(s allStores) (string, error) { v, err := s.GetLIDForPN(p.ctx, pn); return render(v), err })
		}},
		{"GetPNForLID", 3, func(p *pair, g *gen) {
			lid := lidJID(pick(g, lidUsers), pick(g, devices))
			p.same("GetPNForLID "+lid.String(), func(s allStores) (string, error) { v, err := s.GetPNForLID(p.ctx, lid); return render(v), err })
		}},
		{"GetManyLIDsForPNs", 2, func(p *pair, g *gen) {
			var pns []types.JID
			for range 1 + g.r.IntN(4) {
				pns = append(pns, pnJID(pick(g, pnUsers), pick(g, devices)))
			}
			p.same(fmt.Sprint("GetManyLIDsForPNs ", pns), func(s allStores) (string, error) { v, err := s.GetManyLIDsForPNs(p.ctx, pns); return render(v), err })
		}},
	}
}

func (g *gen) pickMACs(max int) [][]byte {
	out := make([][]byte, 1+g.r.IntN(max))
	for i := range out {
		out[i] = pick(g, g.indexMAC)
	}
	return out
}

func (g *gen) chat() types.JID {
	if g.r.IntN(3) == 0 {
		return types.NewJID("120363000000001", types.GroupServer)
	}
	return g.userJID()
}

// msgSecret is a new message's secret, or sometimes one already put again with another secret
// (the first must stay).
func (g *gen) msgSecret() store.MessageSecretInsert {
	if len(g.msgSecrets) > 0 && g.r.IntN(5) == 0 {
		m := pick(g, g.msgSecrets)
		m.Secret = g.bytes(32)
		return m
	}
	g.msgID++
	m := store.MessageSecretInsert{Chat: g.chat(), Sender: g.userJID(), ID: fmt.Sprintf("3EB0%04d", g.msgID), Secret: g.bytes(32)}
	g.msgSecrets = append(g.msgSecrets, m)
	return m
}

// TestRandomOperations runs one random sequence of operations over every interface against
// both stores and compares every answer, then the whole state.
func TestRandomOperations(t *testing.T) {
	t.Parallel()
	t.Logf("seed %d, %d operations", randomSeed, randomOps)
	p := newPair(t)
	g := newGen(randomSeed)
	ps := &preKeyState{generated: [2]map[uint32][32]byte{{}, {}}}
	ops := randomOpsList(ps)
	total := 0
	for _, o := range ops {
		total += o.weight
	}
	counts := map[string]int{}
	for range randomOps {
		n := g.r.IntN(total)
		for _, o := range ops {
			if n < o.weight {
				counts[o.name]++
				o.run(p, g)
				break
			}
			n -= o.weight
		}
	}
	for i, s := range p.stores {
		checkPreKeys(t, p.ctx, s, ps.generated[i])
	}
	compareState(p, g)
	t.Logf("compared %d operations (%d DynamoDB requests): %v", p.ops, p.counting.total(), counts)
}

// compareState reads everything the pools can reach from both stores.
func compareState(p *pair, g *gen) {
	var addrs []string
	for _, u := range pnUsers {
		for _, d := range devices {
			addrs = append(addrs, pnJID(u, d).SignalAddress().String())
		}
	}
	for _, u := range lidUsers {
		for _, d := range devices {
			addrs = append(addrs, lidJID(u, d).SignalAddress().String())
		}
	}
	p.same("final sessions", func(s allStores) (string, error) { v, err := s.GetManySessions(p.ctx, addrs); return render(v), err })
	for _, a := range addrs {
		for _, k := range identitys {
			p.same("final identity "+a, func(s allStores) (string, error) { v, err := s.IsTrustedIdentity(p.ctx, a, k); return render(v), err })
		}
		for _, grp := range groups {
			p.same("final sender key "+a, func(s allStores) (string, error) { v, err := s.GetSenderKey(p.ctx, grp, a); return render(v), err })
		}
	}
	p.same("final contacts", func(s allStores) (string, error) { v, err := s.GetAllContacts(p.ctx); return render(v), err })
	for id := range uint32(40) {
		p.same(fmt.Sprint("final pre-key ", id), func(s allStores) (string, error) { v, err := s.GetPreKey(p.ctx, id); return render(v), err })
	}
	for _, name := range appNames {
		for _, mac := range g.indexMAC {
			p.same("final MAC "+name, func(s allStores) (string, error) {
				v, err := s.GetAppStateMutationMAC(p.ctx, name, mac)
				return render(v), err
			})
		}
	}
	for _, m := range g.msgSecrets {
		p.same("final message secret "+m.ID, func(s allStores) (string, error) {
			v, real, err := s.GetMessageSecret(p.ctx, m.Chat, m.Sender, m.ID)
			return render(v, real), err
		})
	}
}
