package dynamostore

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	mathrand "math/rand/v2"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/expression"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddb "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/uuid"
	"github.com/wagate/wagate/shared/dynamo"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	waLog "go.mau.fi/whatsmeow/util/log"
)

// Container keeps any number of whatsmeow devices, their keys and state in one DynamoDB table,
// as sqlstore.Container does in one SQL database.
type Container struct {
	db    DynamoDBAPI
	table string
	log   waLog.Logger
	// LIDMap is the LID<->phone number map every device of the container shares.
	LIDMap *LIDMap
	// now is the clock of buffered events' insert times (a variable for tests).
	now func() time.Time
	// retry spaces the tries of writes and batch reads DynamoDB did not complete (a variable
	// for tests).
	retry dynamo.Backoff
}

var (
	_ store.DeviceContainer = (*Container)(nil)
	_ store.AllStores       = (*DeviceStore)(nil)
	_ store.LIDStore        = (*LIDMap)(nil)
)

// ErrDeviceIDMustBeSet is returned by PutDevice and DeleteDevice for a device without a JID.
var ErrDeviceIDMustBeSet = errors.New("device JID must be known before accessing database")

// ErrInvalidLength is returned when a stored key has the wrong length (as sqlstore's).
var ErrInvalidLength = errors.New("database returned byte array with illegal length")

// New returns a container keeping its devices in table. log may be nil.
func New(client DynamoDBAPI, table string, log waLog.Logger) *Container {
	if log == nil {
		log = waLog.Noop
	}
	c := &Container{db: client, table: table, log: log, now: time.Now, retry: dynamo.DefaultBackoff}
	c.LIDMap = newLIDMap(c)
	return c
}

// Device row attributes.
const (
	attrJID            = "jid"
	attrLID            = "lid"
	attrRegistrationID = "registrationId"
	attrNoiseKey       = "noiseKey"
	attrIdentityKey    = "identityKey"
	attrSignedPreKey   = "signedPreKey"
	attrSignedPreKeyID = "signedPreKeyId"
	attrSignedPreSig   = "signedPreKeySig"
	attrAdvKey         = "advKey"
	attrAdvDetails     = "advDetails"
	attrAdvAccountSig  = "advAccountSig"
	attrAdvAccountKey  = "advAccountSigKey"
	attrAdvDeviceSig   = "advDeviceSig"
	attrPlatform       = "platform"
	attrBusinessName   = "businessName"
	attrPushName       = "pushName"
	attrFacebookUUID   = "facebookUuid"
	attrLIDMigrationTS = "lidMigrationTs"
)

// pkDevices is the partition holding one item per device, sorted by JID.
const pkDevices = "devices"

// NewDevice creates a device with fresh keys; nothing is stored before it is saved (whatsmeow
// saves it once pairing succeeds).
func (c *Container) NewDevice() *store.Device {
	advSecret := make([]byte, 32)
	_, _ = rand.Read(advSecret) // crypto/rand.Read never fails
	device := &store.Device{
		Log:            c.log,
		Container:      c,
		NoiseKey:       keys.NewKeyPair(),
		IdentityKey:    keys.NewKeyPair(),
		RegistrationID: mathrand.Uint32(),
		AdvSecretKey:   advSecret,
	}
	device.SignedPreKey = device.IdentityKey.CreateSignedPreKey(1)
	return device
}

// Close releases nothing: the DynamoDB client belongs to the caller.
func (c *Container) Close() error { return nil }

// GetDevice reads the device with the given JID, or answers nil, nil when there is none.
func (c *Container) GetDevice(ctx context.Context, jid types.JID) (*store.Device, error) {
	if jid.Server == "" {
		return nil, nil
	}
	it, err := c.getItem(ctx, pkDevices, jid.String())
	if err != nil {
		return nil, fmt.Errorf("get device %s: %w", jid, err)
	}
	if it == nil {
		return nil, nil
	}
	device, err := c.decodeDevice(it)
	if err != nil {
		return nil, fmt.Errorf("get device %s: %w", jid, err)
	}
	return device, nil
}

// GetAllDevices reads every device, in JID order (sqlstore answers in insertion order).
func (c *Container) GetAllDevices(ctx context.Context) ([]*store.Device, error) {
	devices := make([]*store.Device, 0)
	items, err := c.queryAll(ctx, query{pk: pkDevices})
	if err != nil {
		return nil, fmt.Errorf("get all devices: %w", err)
	}
	for _, it := range items {
		device, err := c.decodeDevice(it)
		if err != nil {
			return devices, fmt.Errorf("get all devices: %w", err)
		}
		devices = append(devices, device)
	}
	return devices, nil
}

func (c *Container) decodeDevice(it item) (*store.Device, error) {
	jidStr, _ := it.str(attrJID)
	jid, err := types.ParseJID(jidStr)
	if err != nil {
		return nil, fmt.Errorf("device jid %q: %w", jidStr, err)
	}
	device := &store.Device{Log: c.log, ID: &jid}
	if lid, _ := it.str(attrLID); lid != "" {
		if device.LID, err = types.ParseJID(lid); err != nil {
			return nil, fmt.Errorf("device lid %q: %w", lid, err)
		}
	}
	regID, err := it.uint64(attrRegistrationID)
	if err != nil {
		return nil, err
	}
	device.RegistrationID = uint32(regID)
	preKeyID, err := it.uint64(attrSignedPreKeyID)
	if err != nil {
		return nil, err
	}
	noise, identity, preKey, preKeySig := it.bin(attrNoiseKey), it.bin(attrIdentityKey), it.bin(attrSignedPreKey), it.bin(attrSignedPreSig)
	if len(noise) != 32 || len(identity) != 32 || len(preKey) != 32 || len(preKeySig) != 64 {
		return nil, ErrInvalidLength
	}
	device.NoiseKey = keys.NewKeyPairFromPrivateKey([32]byte(noise))
	device.IdentityKey = keys.NewKeyPairFromPrivateKey([32]byte(identity))
	device.SignedPreKey = &keys.PreKey{
		KeyPair:   *keys.NewKeyPairFromPrivateKey([32]byte(preKey)),
		KeyID:     uint32(preKeyID),
		Signature: (*[64]byte)(preKeySig),
	}
	device.AdvSecretKey = it.bin(attrAdvKey)
	device.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             it.bin(attrAdvDetails),
		AccountSignature:    it.bin(attrAdvAccountSig),
		AccountSignatureKey: it.bin(attrAdvAccountKey),
		DeviceSignature:     it.bin(attrAdvDeviceSig),
	}
	device.Platform, _ = it.str(attrPlatform)
	device.BusinessName, _ = it.str(attrBusinessName)
	device.PushName, _ = it.str(attrPushName)
	if fb, ok := it.str(attrFacebookUUID); ok {
		if device.FacebookUUID, err = uuid.Parse(fb); err != nil {
			return nil, fmt.Errorf("device facebook uuid %q: %w", fb, err)
		}
	}
	if device.LIDMigrationTimestamp, err = it.int64(attrLIDMigrationTS); err != nil {
		return nil, err
	}
	c.initializeDevice(device)
	return device, nil
}

// checkDevice refuses what sqlstore's schema refuses (its CHECK constraints) or would panic on.
func checkDevice(d *store.Device) error {
	switch {
	case d.NoiseKey == nil || d.IdentityKey == nil || d.SignedPreKey == nil || d.SignedPreKey.Signature == nil:
		return errors.New("device keys are not set")
	case d.Account == nil:
		return errors.New("device account (ADVSignedDeviceIdentity) is not set")
	case d.AdvSecretKey == nil || d.Account.Details == nil:
		return fmt.Errorf("adv secret key or account details: %w", errNull)
	case d.SignedPreKey.KeyID >= 1<<24:
		return fmt.Errorf("signed pre-key id %d is not below 2^24", d.SignedPreKey.KeyID)
	case len(d.Account.AccountSignature) != 64 || len(d.Account.AccountSignatureKey) != 32 || len(d.Account.DeviceSignature) != 64:
		return ErrInvalidLength
	}
	return nil
}

// PutDevice stores the device. Like sqlstore, saving a device that is already stored changes
// only its LID, platform, business name, push name and LID migration time; keys never change.
func (c *Container) PutDevice(ctx context.Context, device *store.Device) error {
	if device.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	err := c.putDevice(ctx, device)
	// As sqlstore, the device gets its stores even when the write failed.
	if !device.Initialized {
		c.initializeDevice(device)
	}
	if err != nil {
		return fmt.Errorf("put device %s: %w", device.ID, err)
	}
	return nil
}

func (c *Container) putDevice(ctx context.Context, d *store.Device) error {
	if err := checkDevice(d); err != nil {
		return err
	}
	lid := ""
	if d.LID.Server != "" {
		lid = d.LID.String()
	}
	mutable := map[string]ddb.AttributeValue{
		attrLID:            str(lid),
		attrPlatform:       str(d.Platform),
		attrBusinessName:   str(d.BusinessName),
		attrPushName:       str(d.PushName),
		attrLIDMigrationTS: num(d.LIDMigrationTimestamp),
	}
	full := key(pkDevices, d.ID.String())
	full[attrJID] = str(d.ID.String())
	full[attrRegistrationID] = num(d.RegistrationID)
	full[attrNoiseKey] = bin(d.NoiseKey.Priv[:])
	full[attrIdentityKey] = bin(d.IdentityKey.Priv[:])
	full[attrSignedPreKey] = bin(d.SignedPreKey.Priv[:])
	full[attrSignedPreKeyID] = num(d.SignedPreKey.KeyID)
	full[attrSignedPreSig] = bin(d.SignedPreKey.Signature[:])
	full[attrAdvKey] = bin(d.AdvSecretKey)
	full[attrAdvDetails] = bin(d.Account.Details)
	full[attrAdvAccountSig] = bin(d.Account.AccountSignature)
	full[attrAdvAccountKey] = bin(d.Account.AccountSignatureKey)
	full[attrAdvDeviceSig] = bin(d.Account.DeviceSignature)
	if d.FacebookUUID != uuid.Nil {
		full[attrFacebookUUID] = str(d.FacebookUUID.String())
	}
	for k, v := range mutable {
		full[k] = v
	}
	if err := checkSize("device", full); err != nil {
		return err
	}
	// Insert if absent, else update the mutable part: two conditional writes, retried in the
	// rare case another writer inserts or deletes the device in between.
	expr, err := expression.NewBuilder().
		WithUpdate(setEach(mutable)).
		WithCondition(expression.AttributeExists(expression.Name(attrPK))).
		Build()
	if err != nil {
		return fmt.Errorf("device update: %w", err)
	}
	for range 3 {
		_, err := c.db.PutItem(ctx, &dynamodb.PutItemInput{
			TableName: &c.table, Item: full,
			ConditionExpression: aws.String("attribute_not_exists(pk)"),
		})
		if err == nil || !dynamo.ConditionFailed(err) {
			return err
		}
		_, err = c.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
			TableName: &c.table, Key: key(pkDevices, d.ID.String()),
			UpdateExpression:          expr.Update(),
			ConditionExpression:       expr.Condition(),
			ExpressionAttributeNames:  expr.Names(),
			ExpressionAttributeValues: expr.Values(),
		})
		if err == nil || !dynamo.ConditionFailed(err) {
			return err
		}
	}
	return errors.New("device kept appearing and disappearing while being saved")
}

func (c *Container) initializeDevice(device *store.Device) {
	s := newDeviceStore(c, *device.ID)
	device.Identities = s
	device.Sessions = s
	device.PreKeys = s
	device.SenderKeys = s
	device.AppStateKeys = s
	device.AppState = s
	device.Contacts = s
	device.ChatSettings = s
	device.MsgSecrets = s
	device.PrivacyTokens = s
	device.EventBuffer = s
	device.LIDs = c.LIDMap
	device.Container = c
	device.Initialized = true
}

// deviceKinds are the partitions of a device's own data that DeleteDevice removes, as
// sqlstore's foreign keys cascade. Privacy tokens have no foreign key there, so they stay.
var deviceKinds = []string{
	kindIdentity, kindSession, kindPreKey, kindSenderKey, kindAppStateKey,
	kindAppStateMAC, kindAppStateVersion, kindContact, kindChatSettings, kindMsgSecret, kindEventBuffer,
}

// DeleteDevice deletes the device and all its data (not the shared LID map, and not privacy
// tokens, as sqlstore). The data goes first, the device item last, so an interrupted delete
// leaves a device that can be deleted again rather than data without a device.
func (c *Container) DeleteDevice(ctx context.Context, device *store.Device) error {
	if device.ID == nil {
		return ErrDeviceIDMustBeSet
	}
	our := device.ID.String()
	for _, kind := range deviceKinds {
		if err := c.deletePartition(ctx, partition(our, kind), ""); err != nil {
			return fmt.Errorf("delete device %s: %s: %w", our, kind, err)
		}
	}
	if err := c.deleteItem(ctx, pkDevices, our); err != nil {
		return fmt.Errorf("delete device %s: %w", our, err)
	}
	return nil
}
