package host

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"go.mau.fi/whatsmeow/store/sqlstore"
	// A pure-Go SQLite: the image is built with CGO off.
	_ "modernc.org/sqlite"
)

// OpenDevices opens whatsmeow's device store: SQLite in dataDir/whatsmeow.db, created and
// upgraded to whatsmeow's schema as needed.
func OpenDevices(ctx context.Context, dataDir string, logger *slog.Logger) (*sqlstore.Container, error) {
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, fmt.Errorf("device store: %w", err)
	}
	path := filepath.Join(dataDir, "whatsmeow.db")
	// whatsmeow needs foreign keys; WAL and a busy timeout let many sessions write at once.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)&_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)")
	if err != nil {
		return nil, fmt.Errorf("device store %s: %w", path, err)
	}
	devices := sqlstore.NewWithDB(db, "sqlite3", newWALogger(logger.With("component", "whatsmeow-store")))
	if err := devices.Upgrade(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("device store %s: upgrade schema: %w", path, err)
	}
	return devices, nil
}
