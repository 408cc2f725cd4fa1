package wasim

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"math/rand/v2"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/types/events"
)

// SendMessage sends a message: the server acks it with the message's id and its time, then the
// recipient's receipts follow (see Network.accept). Errors are whatsmeow's.
func (c *Client) SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error) {
	var req whatsmeow.SendRequestExtra
	if len(extra) > 1 {
		return whatsmeow.SendResponse{}, fmt.Errorf("only one extra parameter may be provided to SendMessage")
	} else if len(extra) == 1 {
		req = extra[0]
	}
	if to.Device > 0 && !req.Peer {
		return whatsmeow.SendResponse{}, whatsmeow.ErrRecipientADJID
	}
	own, err := c.connected()
	if err != nil {
		return whatsmeow.SendResponse{}, err
	}
	if req.ID == "" {
		req.ID = c.builder.GenerateMessageID()
	}
	if err := ctx.Err(); err != nil {
		return whatsmeow.SendResponse{}, err
	}
	at, err := c.net.accept(Sent{ID: req.ID, Chat: to, Sender: own, Message: message})
	if err != nil {
		return whatsmeow.SendResponse{}, err
	}
	return whatsmeow.SendResponse{ID: req.ID, Timestamp: at, Sender: own}, nil
}

// accept is the server taking a message from one of an account's devices (or its phone): it is
// recorded, and the recipients' receipts are scheduled for every device of the account.
func (n *Network) accept(s Sent) (time.Time, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.down:
		return time.Time{}, whatsmeow.ErrMessageTimedOut
	case n.failNext > 0:
		n.failNext--
		return time.Time{}, n.failErr
	}
	var recipients []string
	switch s.Chat.Server {
	case types.DefaultUserServer:
		if !n.onWhatsApp(s.Chat.User) {
			// WhatsApp refuses a message to a number without an account.
			return time.Time{}, fmt.Errorf("%w %d", whatsmeow.ErrServerReturnedError, 400)
		}
		recipients = []string{s.Chat.User}
	case types.GroupServer:
		g, ok := n.groups[s.Chat]
		if !ok {
			return time.Time{}, fmt.Errorf("failed to get group members: %w", whatsmeow.ErrIQNotFound)
		}
		for _, p := range g.participants {
			if p != s.Sender.User {
				recipients = append(recipients, p)
			}
		}
	default:
		return time.Time{}, whatsmeow.ErrUnknownServer
	}
	s.At = now()
	n.sent = append(n.sent, s)
	if receipted(s.Message) {
		for i, r := range recipients {
			if !n.blocked[r] {
				n.scheduleReceipts(s, r, time.Duration(i)*100*time.Millisecond)
			}
		}
	}
	return s.At, nil
}

// receipted reports whether WhatsApp sends receipts for a message: not for reactions, edits,
// revokes and other protocol messages.
func receipted(m *waE2E.Message) bool {
	return m.GetReactionMessage() == nil && m.GetProtocolMessage() == nil && m.GetEditedMessage() == nil
}

// played reports whether a message gets a played receipt: voice notes and video notes.
func played(m *waE2E.Message) bool {
	return m.GetAudioMessage().GetPTT() || m.GetPtvMessage() != nil
}

// scheduleReceipts makes recipient's phone send delivered, read and, for what is played,
// played receipts, to every device of the sending account.
func (n *Network) scheduleReceipts(s Sent, recipient string, stagger time.Duration) {
	o := n.opts
	src := types.MessageSource{Chat: s.Chat, Sender: types.NewJID(recipient, types.DefaultUserServer), IsGroup: s.Chat.Server == types.GroupServer}
	steps := []struct {
		after time.Duration
		typ   types.ReceiptType
	}{{o.Delivered, types.ReceiptTypeDelivered}, {o.Delivered + o.Read, types.ReceiptTypeRead}}
	if played(s.Message) {
		steps = append(steps, struct {
			after time.Duration
			typ   types.ReceiptType
		}{o.Delivered + o.Read + o.Played, types.ReceiptTypePlayed})
	}
	account := s.Sender.User
	for _, st := range steps {
		time.AfterFunc(st.after+stagger, func() {
			r := &events.Receipt{MessageSource: src, MessageIDs: []types.MessageID{s.ID}, Timestamp: now(), Type: st.typ}
			for _, d := range n.devicesOf(account) {
				n.deliver(d, r)
			}
		})
	}
}

// Upload stores a file on the network as WhatsApp's media servers would: encrypted with a new
// media key, its hashes and length answered, the plaintext kept for Network.Media.
func (c *Client) Upload(ctx context.Context, plaintext []byte, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	if _, err := c.connected(); err != nil {
		return whatsmeow.UploadResponse{}, err
	}
	if err := ctx.Err(); err != nil {
		return whatsmeow.UploadResponse{}, err
	}
	return c.net.upload(plaintext, appInfo)
}

func (n *Network) upload(plaintext []byte, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error) {
	mediaKey := randomBytes(32)
	expanded, err := hkdf.Key(sha256.New, mediaKey, nil, string(appInfo), 112)
	if err != nil {
		return whatsmeow.UploadResponse{}, fmt.Errorf("media keys: %w", err)
	}
	iv, cipherKey, macKey := expanded[:16], expanded[16:48], expanded[48:80]
	block, err := aes.NewCipher(cipherKey)
	if err != nil {
		return whatsmeow.UploadResponse{}, fmt.Errorf("media cipher: %w", err)
	}
	pad := aes.BlockSize - len(plaintext)%aes.BlockSize
	padded := append(append([]byte{}, plaintext...), make([]byte, pad)...)
	for i := len(plaintext); i < len(padded); i++ {
		padded[i] = byte(pad)
	}
	enc := make([]byte, len(padded))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(enc, padded)
	mac := hmac.New(sha256.New, macKey)
	mac.Write(iv)
	mac.Write(enc)
	enc = append(enc, mac.Sum(nil)[:10]...)
	fileSHA, encSHA := sha256.Sum256(plaintext), sha256.Sum256(enc)
	path := fmt.Sprintf("/v/t62.7118-24/%d_%d_%d_n.enc?ccb=11-4&oh=01_Q5Aa&oe=%X&_nc_sid=5e03e0",
		rand.Int64N(1e8), rand.Int64N(1e15), rand.Int64N(1e18), time.Now().Add(14*24*time.Hour).Unix())
	n.mu.Lock()
	n.media[path] = append([]byte(nil), plaintext...)
	n.files[path] = &file{enc: enc}
	n.mu.Unlock()
	return whatsmeow.UploadResponse{
		URL: "https://mmg.whatsapp.net" + path, DirectPath: path,
		MediaKey: mediaKey, FileEncSHA256: encSHA[:], FileSHA256: fileSHA[:], FileLength: uint64(len(plaintext)),
	}, nil
}

// SendChatPresence records the presence; whatsmeow needs the account's push name for it.
func (c *Client) SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error {
	if _, err := c.connected(); err != nil {
		return err
	}
	c.mu.Lock()
	noName := c.device.PushName == ""
	c.mu.Unlock()
	if noName {
		return whatsmeow.ErrNoPushName
	}
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	c.net.presence = append(c.net.presence, Presence{Chat: jid, State: state, Media: media, At: now()})
	return nil
}

// MarkRead records a read receipt the account sends.
func (c *Client) MarkRead(ctx context.Context, ids []types.MessageID, timestamp time.Time, chat, sender types.JID, receiptTypeExtra ...types.ReceiptType) error {
	if _, err := c.connected(); err != nil {
		return err
	}
	typ := types.ReceiptTypeRead
	if len(receiptTypeExtra) == 1 {
		typ = receiptTypeExtra[0]
	} else if len(receiptTypeExtra) > 1 {
		return fmt.Errorf("too many receipt types")
	}
	c.net.mu.Lock()
	defer c.net.mu.Unlock()
	c.net.reads = append(c.net.reads, Read{Chat: chat, Sender: sender, IDs: append([]types.MessageID(nil), ids...), At: timestamp, Type: typ})
	return nil
}

// IsOnWhatsApp answers which numbers have an account (see Network.IsOnWhatsApp). As WhatsApp,
// it answers nothing for a number that is not a phone number at all.
func (c *Client) IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error) {
	if _, err := c.connected(); err != nil {
		return nil, err
	}
	out := make([]types.IsOnWhatsAppResponse, 0, len(phones))
	for _, q := range phones {
		number := digits(q)
		if !validNumber(number) {
			continue
		}
		c.net.mu.Lock()
		business := c.net.verifiedName(number)
		c.net.mu.Unlock()
		out = append(out, types.IsOnWhatsAppResponse{Query: q, JID: types.NewJID(number, types.DefaultUserServer), IsIn: c.net.IsOnWhatsApp(number), VerifiedName: business})
	}
	return out, nil
}

// BuildReaction is whatsmeow's.
func (c *Client) BuildReaction(chat, sender types.JID, id types.MessageID, reaction string) *waE2E.Message {
	return c.builder.BuildReaction(chat, sender, id, reaction)
}

// BuildPollCreation is whatsmeow's.
func (c *Client) BuildPollCreation(name string, optionNames []string, selectableOptionCount int) *waE2E.Message {
	return c.builder.BuildPollCreation(name, optionNames, selectableOptionCount)
}

// BuildEdit is whatsmeow's.
func (c *Client) BuildEdit(chat types.JID, id types.MessageID, newContent *waE2E.Message) *waE2E.Message {
	return c.builder.BuildEdit(chat, id, newContent)
}

// BuildRevoke is whatsmeow's.
func (c *Client) BuildRevoke(chat, sender types.JID, id types.MessageID) *waE2E.Message {
	return c.builder.BuildRevoke(chat, sender, id)
}

// SendReceipt makes the phone of number send a receipt of typ for messages an account sent in
// chat, as scheduleReceipts does by itself: every device of the account receives it.
func (n *Network) SendReceipt(account types.JID, number string, chat types.JID, typ types.ReceiptType, ids ...types.MessageID) *events.Receipt {
	n.remember(account)
	r := &events.Receipt{
		MessageSource: types.MessageSource{Chat: chat, Sender: types.NewJID(digits(number), types.DefaultUserServer), IsGroup: chat.Server == types.GroupServer},
		MessageIDs:    ids, Timestamp: now(), Type: typ,
	}
	for _, d := range n.devicesOf(account.User) {
		n.deliver(d, r)
	}
	return r
}
