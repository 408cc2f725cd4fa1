package dynamostore

import (
	"context"
	"fmt"
	"testing"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/libsignal/keys/identity"
	"go.mau.fi/libsignal/keys/prekey"
	"go.mau.fi/libsignal/protocol"
	"go.mau.fi/libsignal/session"
	"go.mau.fi/libsignal/util/optional"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
)

// TestSignalConversation runs libsignal through whatsmeow's store.Device on this store: Alice
// starts a session from Bob's pre-key bundle, and the two exchange messages, Bob decrypting
// inside DoDecryptionTxn as whatsmeow does and reloading his device from the table halfway.
func TestSignalConversation(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	client, table := newDynamoClient(t)
	aliceJID := types.JID{User: "15550001001", Device: 1, Server: types.DefaultUserServer}
	bobJID := types.JID{User: "15550001002", Device: 2, Server: types.DefaultUserServer}
	c := New(client, table, nil)
	alice, bob := pairedDevice(c, aliceJID), pairedDevice(c, bobJID)
	for _, d := range []*store.Device{alice, bob} {
		if err := d.Save(ctx); err != nil {
			t.Fatalf("save %s: %v", d.ID, err)
		}
	}

	preKeys, err := bob.PreKeys.GetOrGenPreKeys(ctx, 1)
	if err != nil {
		t.Fatalf("GetOrGenPreKeys: %v", err)
	}
	pk, spk := preKeys[0], bob.SignedPreKey
	bundle := prekey.NewBundle(bob.RegistrationID, uint32(bobJID.Device),
		optional.NewOptionalUint32(pk.KeyID), spk.KeyID,
		ecc.NewDjbECPublicKey(*pk.Pub), ecc.NewDjbECPublicKey(*spk.Pub), *spk.Signature,
		identity.NewKey(ecc.NewDjbECPublicKey(*bob.IdentityKey.Pub)))
	aliceBuilder := session.NewBuilderFromSignal(alice, bobJID.SignalAddress(), store.SignalProtobufSerializer)
	if err := aliceBuilder.ProcessBundle(ctx, bundle); err != nil {
		t.Fatalf("ProcessBundle: %v", err)
	}
	aliceCipher := session.NewCipher(aliceBuilder, bobJID.SignalAddress())

	bobDecrypt := func(bob *store.Device, ciphertext protocol.CiphertextMessage) string {
		t.Helper()
		cipher := session.NewCipher(session.NewBuilderFromSignal(bob, aliceJID.SignalAddress(), store.SignalProtobufSerializer), aliceJID.SignalAddress())
		var plaintext []byte
		err := bob.EventBuffer.DoDecryptionTxn(ctx, func(ctx context.Context) (err error) {
			if ciphertext.Type() == protocol.PREKEY_TYPE {
				msg, err := protocol.NewPreKeySignalMessageFromBytes(ciphertext.Serialize(), store.SignalProtobufSerializer.PreKeySignalMessage, store.SignalProtobufSerializer.SignalMessage)
				if err != nil {
					return err
				}
				plaintext, err = cipher.DecryptMessage(ctx, msg)
				if err != nil {
					return err
				}
			} else {
				msg, err := protocol.NewSignalMessageFromBytes(ciphertext.Serialize(), store.SignalProtobufSerializer.SignalMessage)
				if err != nil {
					return err
				}
				if plaintext, err = cipher.Decrypt(ctx, msg); err != nil {
					return err
				}
			}
			var hash [32]byte
			copy(hash[:], ciphertext.Serialize())
			return bob.EventBuffer.PutBufferedEvent(ctx, hash, plaintext, time.Now())
		})
		if err != nil {
			t.Fatalf("Bob decrypts: %v", err)
		}
		return string(plaintext)
	}

	for round := range 6 {
		if round == 3 {
			// Bob's process restarts: everything comes back from the table.
			reloaded, err := New(client, table, nil).GetDevice(ctx, bobJID)
			if err != nil || reloaded == nil {
				t.Fatalf("GetDevice(bob): %v, %v", reloaded, err)
			}
			bob = reloaded
		}
		text := fmt.Sprint("hello ", round)
		ciphertext, err := aliceCipher.Encrypt(ctx, []byte(text))
		if err != nil {
			t.Fatalf("Alice encrypts: %v", err)
		}
		if got := bobDecrypt(bob, ciphertext); got != text {
			t.Fatalf("Bob read %q, want %q", got, text)
		}
		bobCipher := session.NewCipher(session.NewBuilderFromSignal(bob, aliceJID.SignalAddress(), store.SignalProtobufSerializer), aliceJID.SignalAddress())
		reply, err := bobCipher.Encrypt(ctx, []byte("re: "+text))
		if err != nil {
			t.Fatalf("Bob encrypts: %v", err)
		}
		msg, err := protocol.NewSignalMessageFromBytes(reply.Serialize(), store.SignalProtobufSerializer.SignalMessage)
		if err != nil {
			t.Fatalf("parse Bob's reply: %v", err)
		}
		got, err := aliceCipher.Decrypt(ctx, msg)
		if err != nil || string(got) != "re: "+text {
			t.Fatalf("Alice read %q, %v; want %q", got, err, "re: "+text)
		}
	}
	if used, err := bob.PreKeys.GetPreKey(ctx, pk.KeyID); err != nil || used != nil {
		t.Errorf("Bob's used one-time pre-key is still stored: %v, %v", used, err)
	}
}
