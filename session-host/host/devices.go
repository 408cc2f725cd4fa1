package host

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	// Postgres through pgx's database/sql driver, registered as "pgx".
	_ "github.com/jackc/pgx/v5/stdlib"
	"go.mau.fi/whatsmeow/store"
	"go.mau.fi/whatsmeow/store/sqlstore"
	"go.mau.fi/whatsmeow/types"
	// A pure-Go SQLite: the image is built with CGO off.
	_ "modernc.org/sqlite"

	"github.com/wagate/wagate/session-host/dynamostore"
)

// Devices is where whatsmeow keeps the paired devices and their keys.
type Devices interface {
	NewDevice() *store.Device
	// GetDevice answers nil without an error when the device is not in the store.
	GetDevice(ctx context.Context, jid types.JID) (*store.Device, error)
	Close() error
}

var (
	_ Devices = (*sqlstore.Container)(nil)
	_ Devices = (*dynamostore.Container)(nil)
)

// OpenSQLDevices opens whatsmeow's SQL device store, creating and upgrading its schema as
// needed: SQLite in dataDir/whatsmeow.db, or Postgres at dsn when dsn is set.
func OpenSQLDevices(ctx context.Context, dataDir, dsn string, logger *slog.Logger) (*sqlstore.Container, error) {
	driver, dialect, source, name := "pgx", "postgres", dsn, "postgres"
	if dsn == "" {
		if err := os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("device store: %w", err)
		}
		name = filepath.Join(dataDir, "whatsmeow.db")
		// whatsmeow needs foreign keys; WAL and a busy timeout let many sessions write at once.
		driver, dialect, source = "sqlite", "sqlite3", "file:"+name+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, source)
	if err != nil {
		return nil, fmt.Errorf("device store %s: %w", name, err)
	}
	devices := sqlstore.NewWithDB(db, dialect, newWALogger(logger.With("component", "whatsmeow-store")))
	if err := devices.Upgrade(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("device store %s: upgrade schema: %w", name, err)
	}
	return devices, nil
}

// openDevices opens the device store the configuration names.
func openDevices(ctx context.Context, cfg Config, awsCfg aws.Config, logger *slog.Logger) (Devices, error) {
	if cfg.Store == "dynamodb" {
		return dynamostore.New(dynamodb.NewFromConfig(awsCfg), cfg.DevicesTable, newWALogger(logger.With("component", "whatsmeow-store"))), nil
	}
	return OpenSQLDevices(ctx, cfg.DataDir, cfg.StoreDSN, logger)
}
