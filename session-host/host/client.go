package host

import (
	"context"
	"time"

	"go.mau.fi/whatsmeow"
	"go.mau.fi/whatsmeow/proto/waE2E"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	waLog "go.mau.fi/whatsmeow/util/log"

	"github.com/wagate/wagate/session-host/calls"
)

// Client is one device's connection to WhatsApp: *whatsmeow.Client in production, the local
// stack's simulated account in development. Whatever it is, it reports what happens as
// whatsmeow's own events, so they go through the same conversion either way.
type Client interface {
	Connect() error
	Disconnect()
	IsConnected() bool
	IsLoggedIn() bool
	PairPhone(ctx context.Context, phone string, showPushNotification bool, clientType whatsmeow.PairClientType, clientDisplayName string) (string, error)
	Logout(ctx context.Context) error

	SendMessage(ctx context.Context, to types.JID, message *waE2E.Message, extra ...whatsmeow.SendRequestExtra) (whatsmeow.SendResponse, error)
	Upload(ctx context.Context, plaintext []byte, appInfo whatsmeow.MediaType) (whatsmeow.UploadResponse, error)
	Download(ctx context.Context, msg whatsmeow.DownloadableMessage) ([]byte, error)
	SendChatPresence(ctx context.Context, jid types.JID, state types.ChatPresence, media types.ChatPresenceMedia) error
	MarkRead(ctx context.Context, ids []types.MessageID, timestamp time.Time, chat, sender types.JID, receiptTypeExtra ...types.ReceiptType) error
	IsOnWhatsApp(ctx context.Context, phones []string) ([]types.IsOnWhatsAppResponse, error)

	// The contacts calls (session-host/calls).
	GetUserInfo(ctx context.Context, jids []types.JID) (map[types.JID]types.UserInfo, error)
	GetProfilePictureInfo(ctx context.Context, jid types.JID, params *whatsmeow.GetProfilePictureParams) (*types.ProfilePictureInfo, error)
	calls.Groups // the group calls (session-host/calls)

	// whatsmeow's message builders, which read the account's own JIDs from the device.
	BuildReaction(chat, sender types.JID, id types.MessageID, reaction string) *waE2E.Message
	BuildPollCreation(name string, optionNames []string, selectableOptionCount int) *waE2E.Message
	BuildEdit(chat types.JID, id types.MessageID, newContent *waE2E.Message) *waE2E.Message
	BuildRevoke(chat, sender types.JID, id types.MessageID) *waE2E.Message
}

// ClientOptions is what a new Client is made with.
type ClientOptions struct {
	Device *store.Device
	Log    waLog.Logger
	// Context ends when the session stops; nothing of the client may connect after that.
	Context context.Context
	// Handle is called with each event, in order; WhatsApp is acked for a message only once
	// it returned true.
	Handle func(evt any) bool
}

// NewClientFunc makes a session's client.
type NewClientFunc func(ClientOptions) Client

var _ Client = (*whatsmeow.Client)(nil)

// NewWhatsmeowClient is the production client: whatsmeow, acking WhatsApp only after the
// events are handled.
func NewWhatsmeowClient(o ClientOptions) Client {
	client := whatsmeow.NewClient(o.Device, o.Log)
	// WhatsApp gets its ack only once every event a message became is on the queue. The
	// decrypted-event buffer keeps each plaintext with the Signal state its decryption moved
	// on until then, so a message WhatsApp sends again after a failed ack decrypts again.
	client.SynchronousAck = true
	client.EnableDecryptedEventBuffer = true
	client.EnableAutoReconnect = true
	// whatsmeow's own reconnects and its event loop run on this context: once the session
	// stops, none of them connects again without a lease.
	client.BackgroundEventCtx = o.Context
	client.AddEventHandlerWithSuccessStatus(o.Handle)
	return client
}
