package dynamostore

import (
	"context"
	"database/sql"
	"encoding/hex"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"go.mau.fi/whatsmeow/proto/waAdv"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	"go.mau.fi/whatsmeow/util/keys"
	_ "modernc.org/sqlite"

	"github.com/wagate/wagate/infra/awstest"
)

func TestMain(m *testing.M) {
	// libsignal sets its global logger on first use without a lock; have that happen before the
	// tests run in parallel, so the race detector watches this package, not libsignal.
	keys.NewKeyPair().CreateSignedPreKey(1)
	awstest.Main(m)
}

// allStores is what a store.Device reaches through its store fields.
type allStores interface {
	store.AllSessionSpecificStores
	store.LIDStore
}

// sqlStores joins sqlstore's per-device store and its shared LID map into one allStores.
type sqlStores struct {
	*sqlstore.SQLStore
	*sqlstore.CachedLIDMap
}

// countingDB counts the requests sent through it, by operation.
type countingDB struct {
	DynamoDBAPI
	batchGets, batchWrites, others atomic.Int64
}

func (c *countingDB) BatchGetItem(ctx context.Context, in *dynamodb.BatchGetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchGetItemOutput, error) {
	c.batchGets.Add(1)
	return c.DynamoDBAPI.BatchGetItem(ctx, in, opts...)
}

func (c *countingDB) BatchWriteItem(ctx context.Context, in *dynamodb.BatchWriteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.BatchWriteItemOutput, error) {
	c.batchWrites.Add(1)
	return c.DynamoDBAPI.BatchWriteItem(ctx, in, opts...)
}

func (c *countingDB) GetItem(ctx context.Context, in *dynamodb.GetItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.GetItemOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.GetItem(ctx, in, opts...)
}

func (c *countingDB) PutItem(ctx context.Context, in *dynamodb.PutItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.PutItemOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.PutItem(ctx, in, opts...)
}

func (c *countingDB) UpdateItem(ctx context.Context, in *dynamodb.UpdateItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.UpdateItemOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.UpdateItem(ctx, in, opts...)
}

func (c *countingDB) DeleteItem(ctx context.Context, in *dynamodb.DeleteItemInput, opts ...func(*dynamodb.Options)) (*dynamodb.DeleteItemOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.DeleteItem(ctx, in, opts...)
}

func (c *countingDB) Query(ctx context.Context, in *dynamodb.QueryInput, opts ...func(*dynamodb.Options)) (*dynamodb.QueryOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.Query(ctx, in, opts...)
}

func (c *countingDB) TransactWriteItems(ctx context.Context, in *dynamodb.TransactWriteItemsInput, opts ...func(*dynamodb.Options)) (*dynamodb.TransactWriteItemsOutput, error) {
	c.others.Add(1)
	return c.DynamoDBAPI.TransactWriteItems(ctx, in, opts...)
}

func (c *countingDB) total() int64 {
	return c.batchGets.Load() + c.batchWrites.Load() + c.others.Load()
}

// newSQLContainer opens whatsmeow's sqlstore on a fresh SQLite file, as the session host does.
func newSQLContainer(tb testing.TB) (*sqlstore.Container, *sql.DB) {
	tb.Helper()
	name := filepath.Join(tb.TempDir(), "whatsmeow.db")
	db, err := sql.Open("sqlite", "file:"+name+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	c := sqlstore.NewWithDB(db, "sqlite3", nil)
	if err := c.Upgrade(context.Background()); err != nil {
		tb.Fatalf("upgrade sqlstore: %v", err)
	}
	return c, db
}

// newDynamoClient is a DynamoDB client for a fresh DevicesTable of template.yaml on moto.
func newDynamoClient(tb testing.TB) (*dynamodb.Client, string) {
	tb.Helper()
	res := awstest.Stack(tb)
	return dynamodb.NewFromConfig(awstest.Config(tb)), res.Table("DevicesTable")
}

var ourJID = types.JID{User: "15550001111", Device: 7, Server: types.DefaultUserServer}

// pairedDevice makes a device as pairing leaves it: keys from NewDevice, an ID and an account.
func pairedDevice(c interface{ NewDevice() *store.Device }, jid types.JID) *store.Device {
	d := c.NewDevice()
	d.ID = &jid
	d.LID = types.JID{User: "90000001111", Device: jid.Device, Server: types.HiddenUserServer}
	d.Account = &waAdv.ADVSignedDeviceIdentity{
		Details:             []byte("details of " + jid.String()),
		AccountSignature:    filled(64, 1),
		AccountSignatureKey: filled(32, 2),
		DeviceSignature:     filled(64, 3),
	}
	d.Platform, d.PushName, d.BusinessName = "android", "Support", "Wagate Ltd"
	return d
}

func filled(n int, b byte) []byte { return slices.Repeat([]byte{b}, n) }

// copyKeys gives dst the keys of src, so the two stores hold the same device.
func copyKeys(dst, src *store.Device) {
	dst.NoiseKey, dst.IdentityKey, dst.SignedPreKey = src.NoiseKey, src.IdentityKey, src.SignedPreKey
	dst.RegistrationID, dst.AdvSecretKey = src.RegistrationID, src.AdvSecretKey
}

// pair is one device stored in both sqlstore (the reference) and this store.
type pair struct {
	t        *testing.T
	ctx      context.Context
	sqlC     *sqlstore.Container
	sqlDB    *sql.DB
	ddbC     *Container
	ddbDB    DynamoDBAPI
	table    string
	counting *countingDB
	stores   [2]allStores
	// ops counts the operations compared, for the log.
	ops int
}

func newPair(t *testing.T) *pair {
	t.Helper()
	ctx := context.Background()
	db, table := newDynamoClient(t)
	p := &pair{t: t, ctx: ctx, counting: &countingDB{DynamoDBAPI: db}, ddbDB: db, table: table}
	p.sqlC, p.sqlDB = newSQLContainer(t)
	p.ddbC = New(p.counting, table, nil)
	sqlDev := pairedDevice(p.sqlC, ourJID)
	ddbDev := pairedDevice(p.ddbC, ourJID)
	copyKeys(ddbDev, sqlDev)
	if err := sqlDev.Save(ctx); err != nil {
		t.Fatalf("sqlstore PutDevice: %v", err)
	}
	if err := ddbDev.Save(ctx); err != nil {
		t.Fatalf("dynamostore PutDevice: %v", err)
	}
	p.stores = [2]allStores{
		sqlStores{sqlDev.Sessions.(*sqlstore.SQLStore), p.sqlC.LIDMap},
		ddbDev.Sessions.(*DeviceStore),
	}
	return p
}

// fresh answers the device's stores through new containers on the same databases: no caches.
func (p *pair) fresh() [2]allStores {
	p.t.Helper()
	sqlC := sqlstore.NewWithDB(p.sqlDB, "sqlite3", nil)
	ddbC := New(p.ddbDB, p.table, nil)
	sqlDev, err := sqlC.GetDevice(p.ctx, ourJID)
	if err != nil || sqlDev == nil {
		p.t.Fatalf("sqlstore GetDevice: %v, %v", sqlDev, err)
	}
	ddbDev, err := ddbC.GetDevice(p.ctx, ourJID)
	if err != nil || ddbDev == nil {
		p.t.Fatalf("dynamostore GetDevice: %v, %v", ddbDev, err)
	}
	return [2]allStores{
		sqlStores{sqlDev.Sessions.(*sqlstore.SQLStore), sqlC.LIDMap},
		ddbDev.Sessions.(*DeviceStore),
	}
}

// withStores is a pair that runs its operations on other stores of the same device.
func (p *pair) withStores(stores [2]allStores) *pair {
	q := *p
	q.stores = stores
	return &q
}

// same runs op on both stores and fails the test when the rendered results or the presence of
// an error differ. It answers the rendered result.
func (p *pair) same(name string, op func(s allStores) (string, error)) string {
	p.t.Helper()
	p.ops++
	var got [2]string
	var errs [2]error
	for i, s := range p.stores {
		got[i], errs[i] = op(s)
	}
	if (errs[0] == nil) != (errs[1] == nil) {
		p.t.Fatalf("%s: sqlstore error %v, dynamostore error %v", name, errs[0], errs[1])
	}
	if errs[0] == nil && got[0] != got[1] {
		p.t.Fatalf("%s:\n  sqlstore    %s\n  dynamostore %s", name, got[0], got[1])
	}
	return got[1]
}

// exec is same for operations without a result.
func (p *pair) exec(name string, op func(s allStores) error) {
	p.t.Helper()
	p.same(name, func(s allStores) (string, error) { return "", op(s) })
}

// render writes results in a form that compares equal when the stores agree: nil and empty
// byte slices alike, maps in key order, times as instants, pre-keys by id (their private keys
// are random per store; see checkPreKeys).
func render(vals ...any) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		parts[i] = render1(v)
	}
	return strings.Join(parts, " ")
}

func render1(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case []byte:
		return "0x" + hex.EncodeToString(v)
	case [128]byte:
		return "0x" + hex.EncodeToString(v[:])
	case time.Time:
		if v.IsZero() {
			return "zero-time"
		}
		return v.UTC().Format(time.RFC3339Nano)
	case types.JID:
		return "jid(" + v.String() + ")"
	case *keys.PreKey:
		if v == nil {
			return "no-prekey"
		}
		return fmt.Sprintf("prekey(%d)", v.KeyID)
	case []*keys.PreKey:
		ids := make([]string, len(v))
		for i, k := range v {
			ids[i] = render1(k)
		}
		return "[" + strings.Join(ids, ",") + "]"
	case map[string][]byte:
		if v == nil {
			return "nil-map"
		}
		var out []string
		for k, b := range v {
			out = append(out, k+"="+render1(b))
		}
		slices.Sort(out)
		return "{" + strings.Join(out, ",") + "}"
	case map[types.JID]types.ContactInfo:
		var out []string
		for k, c := range v {
			out = append(out, k.String()+"="+render1(c))
		}
		slices.Sort(out)
		return "{" + strings.Join(out, ",") + "}"
	case map[types.JID]types.JID:
		if v == nil {
			return "nil-map"
		}
		var out []string
		for k, j := range v {
			out = append(out, k.String()+"="+j.String())
		}
		slices.Sort(out)
		return "{" + strings.Join(out, ",") + "}"
	case *store.AppStateSyncKey:
		if v == nil {
			return "no-key"
		}
		return fmt.Sprintf("key(%s,%d,%s)", render1(v.Data), v.Timestamp, render1(v.Fingerprint))
	case *store.PrivacyToken:
		if v == nil {
			return "no-token"
		}
		return fmt.Sprintf("token(%s,%s,%s)", v.User, render1(v.Token), render1(v.Timestamp))
	case *store.BufferedEvent:
		if v == nil {
			return "no-event"
		}
		// The insert time is the clock at the put, a little different per store.
		recent := time.Since(v.InsertTime) < time.Hour
		return fmt.Sprintf("event(%s,%s,recent=%v)", render1(v.Plaintext), render1(v.ServerTime), recent)
	case types.LocalChatSettings:
		return fmt.Sprintf("chat(%v,%s,%v,%v)", v.Found, render1(v.MutedUntil), v.Pinned, v.Archived)
	default:
		return fmt.Sprintf("%#v", v)
	}
}

// checkPreKeys checks, in each store on its own, that GetPreKey answers the private key a
// generation answered for that id.
func checkPreKeys(t *testing.T, ctx context.Context, s allStores, generated map[uint32][32]byte) {
	t.Helper()
	for id, priv := range generated {
		got, err := s.GetPreKey(ctx, id)
		if err != nil {
			t.Fatalf("GetPreKey(%d): %v", id, err)
		}
		if got != nil && *got.Priv != priv {
			t.Fatalf("GetPreKey(%d) answers another private key than generated", id)
		}
	}
}
