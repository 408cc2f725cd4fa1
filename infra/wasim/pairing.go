package wasim

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"time"

	"go.mau.fi/libsignal/ecc"
	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
	"google.golang.org/protobuf/proto"
)

// showQR gives an unpaired connection its QR codes, as WhatsApp's pair-device refs: each code
// is "ref,noise key,identity key,adv secret" as whatsmeow makes them. The server closes the
// connection once the last one expires.
func (c *Client) showQR(cn *conn) {
	o := c.net.opts
	start := time.Now()
	enc := base64.StdEncoding.EncodeToString
	tail := "," + enc(c.device.NoiseKey.Pub[:]) + "," + enc(c.device.IdentityKey.Pub[:]) + "," + enc(c.device.AdvSecretKey)
	codes := make([]string, o.QRCodes)
	c.net.mu.Lock()
	for i := range codes {
		ref := "2@" + enc(randomBytes(33))
		codes[i] = ref + tail
		c.net.qrs[ref] = &pending{client: c, conn: cn, expires: start.Add(o.FirstQR + time.Duration(i)*o.NextQR)}
	}
	c.net.mu.Unlock()
	cn.push(&events.QR{Codes: codes})
	cn.after(o.FirstQR+time.Duration(o.QRCodes-1)*o.NextQR, func() {
		c.end(cn, true, &events.Disconnected{})
	})
}

// Scan is the phone of number scanning a QR code a device shows: the device is linked to the
// phone's account and answers its new JID.
func (n *Network) Scan(code, number string) (types.JID, error) {
	ref, _, _ := strings.Cut(code, ",")
	n.mu.Lock()
	p, ok := n.qrs[ref]
	if ok && time.Now().After(p.expires) {
		delete(n.qrs, ref)
		n.mu.Unlock()
		return types.EmptyJID, ErrCodeExpired
	}
	n.mu.Unlock()
	if !ok {
		return types.EmptyJID, ErrUnknownCode
	}
	return n.link(p, digits(number))
}

// pairCodeAlphabet is the alphabet of WhatsApp's 8-character pairing codes.
var pairCodeAlphabet = base32.NewEncoding("123456789ABCDEFGHJKLMNPQRSTVWXYZ")

// PairPhone asks for a code that links the device to the phone of number, as "Link with phone
// number" expects: "XXXX-XXXX". The phone types it in after Options.TypeCode by itself.
func (c *Client) PairPhone(ctx context.Context, number string, _ bool, _ whatsmeow.PairClientType, _ string) (string, error) {
	number = digits(number)
	if len(number) <= 6 {
		return "", whatsmeow.ErrPhoneNumberTooShort
	} else if strings.HasPrefix(number, "0") {
		return "", whatsmeow.ErrPhoneNumberIsNotInternational
	}
	c.mu.Lock()
	cn := c.conn
	c.mu.Unlock()
	if cn == nil {
		return "", fmt.Errorf("failed to request pairing code: %w", whatsmeow.ErrNotConnected)
	}
	if !c.net.IsOnWhatsApp(number) {
		return "", fmt.Errorf("failed to request pairing code: %w", whatsmeow.ErrIQBadRequest)
	}
	code := pairCodeAlphabet.EncodeToString(randomBytes(5))
	code = code[:4] + "-" + code[4:]
	c.net.mu.Lock()
	c.net.codes[code] = &pending{client: c, conn: cn, phone: number}
	c.net.mu.Unlock()
	if d := c.net.opts.TypeCode; d >= 0 {
		cn.after(d, func() {
			// A code typed in by hand already is gone.
			if _, err := c.net.EnterCode(code); err != nil && !errors.Is(err, ErrUnknownCode) {
				c.net.logger.Warn("the simulated phone could not enter the pairing code", "error", err)
			}
		})
	}
	return code, nil
}

// EnterCode is the phone a pairing code was asked for typing it in: the device that asked is
// linked to it and answers its new JID.
func (n *Network) EnterCode(code string) (types.JID, error) {
	n.mu.Lock()
	p, ok := n.codes[strings.ToUpper(code)]
	delete(n.codes, strings.ToUpper(code))
	n.mu.Unlock()
	if !ok {
		return types.EmptyJID, ErrUnknownCode
	}
	return n.link(p, p.phone)
}

// link links a waiting connection's device to the phone of number: the device gets its JID and
// the account's signed identity and saves them through its store, then reports PairSuccess and,
// connected again as WhatsApp asks after pairing, Connected.
func (n *Network) link(p *pending, number string) (types.JID, error) {
	n.mu.Lock()
	if !n.onWhatsApp(number) {
		n.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("link: %s is not on WhatsApp", number)
	}
	ph := n.phoneLocked(number)
	if len(ph.devices) >= maxLinkedDevices {
		n.mu.Unlock()
		return types.EmptyJID, ErrTooManyLinked
	}
	var dev uint16 = 1
	for ph.devices[dev] {
		dev++
	}
	ph.devices[dev] = true
	for ref, q := range n.qrs {
		if q.conn == p.conn {
			delete(n.qrs, ref)
		}
	}
	n.mu.Unlock()
	jid := types.JID{User: number, Device: dev, Server: types.DefaultUserServer}
	lid := types.JID{User: ph.lid, Device: dev, Server: types.HiddenUserServer}
	c := p.client
	done := make(chan error, 1)
	ok := p.conn.push(step(func() { done <- c.paired(p.conn, ph, jid, lid) }))
	var err error
	if ok {
		err = <-done
	} else {
		err = fmt.Errorf("the device's connection closed")
	}
	if err != nil {
		n.mu.Lock()
		delete(ph.devices, dev)
		n.mu.Unlock()
		return types.EmptyJID, fmt.Errorf("link %s: %w", jid, err)
	}
	n.logger.Info("device linked to a simulated phone", "device", jid.String())
	return jid, nil
}

// paired completes pairing on the device's connection, as whatsmeow handles pair-success.
func (c *Client) paired(cn *conn, ph *phone, jid, lid types.JID) error {
	account, err := signedIdentity(ph, c.device.IdentityKey.Pub[:], c.device.IdentityKey.Priv[:])
	if err != nil {
		return err
	}
	c.net.mu.Lock()
	pushName := ph.pushName
	c.net.mu.Unlock()
	c.mu.Lock()
	c.device.ID, c.device.LID, c.device.Account = &jid, lid, account
	c.device.Platform, c.device.PushName = "android", pushName
	c.mu.Unlock()
	ctx, cancel := withTimeout()
	defer cancel()
	if err := c.device.Save(ctx); err != nil {
		c.mu.Lock()
		c.device.ID = nil
		c.mu.Unlock()
		c.end(cn, true, &events.PairError{ID: jid, LID: lid, Platform: "android", Error: err})
		return fmt.Errorf("save device: %w", err)
	}
	cn.push(&events.PairSuccess{ID: jid, LID: lid, Platform: "android"})
	c.net.mu.Lock()
	c.net.clients[jid] = c
	c.net.mu.Unlock()
	cn.push(&events.Connected{})
	return nil
}

// signedIdentity is the account's signature over a new device's identity, as the phone sends it
// with pair-success, and the device's own signature over it, as whatsmeow adds it.
func signedIdentity(ph *phone, devicePub, devicePriv []byte) (*waAdv.ADVSignedDeviceIdentity, error) {
	details, err := proto.Marshal(&waAdv.ADVDeviceIdentity{
		RawID: proto.Uint32(uint32(len(ph.devices))), Timestamp: proto.Uint64(uint64(time.Now().Unix())), KeyIndex: proto.Uint32(uint32(len(ph.devices))),
	})
	if err != nil {
		return nil, fmt.Errorf("device identity: %w", err)
	}
	accountSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey(*ph.identity.Priv), concat(whatsmeow.AdvAccountSignaturePrefix, details, devicePub))
	deviceSig := ecc.CalculateSignature(ecc.NewDjbECPrivateKey([32]byte(devicePriv)), concat(whatsmeow.AdvDeviceSignaturePrefix, details, devicePub, ph.identity.Pub[:]))
	return &waAdv.ADVSignedDeviceIdentity{
		Details: details, AccountSignatureKey: ph.identity.Pub[:], AccountSignature: accountSig[:], DeviceSignature: deviceSig[:],
	}, nil
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// Unlink is the phone removing a linked device: a connected device is logged out at once, any
// other when it next connects; either way its keys are deleted.
func (n *Network) Unlink(device types.JID) error {
	if !n.Linked(device) {
		return fmt.Errorf("unlink %s: %w", device, ErrNotLinked)
	}
	n.mu.Lock()
	c, connected := n.clients[device]
	n.mu.Unlock()
	n.unlink(device)
	if connected {
		c.mu.Lock()
		cn := c.conn
		c.mu.Unlock()
		if cn != nil {
			c.loggedOut(cn, false)
			return nil
		}
	}
	n.mu.Lock()
	n.unlinked[device] = true
	n.mu.Unlock()
	return nil
}

// unlink forgets a device and what was waiting for it.
func (n *Network) unlink(device types.JID) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if p, ok := n.phones[device.User]; ok {
		delete(p.devices, device.Device)
	}
	delete(n.offline, device)
}

func randomBytes(size int) []byte {
	b := make([]byte, size)
	rand.Read(b)
	return b
}
