package host

import (
	"crypto/rand"
	"crypto/x509"
	"fmt"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/wagate/wagate/shared/env"
	"github.com/wagate/wagate/shared/media"
)

// Config is the session host's configuration, read from its environment.
type Config struct {
	// HostID names this host in leases and logs: the machine's name and a random part, as an
	// ECS task is one host and cannot be given a name of its own by the task definition.
	HostID         string
	InstancesTable string        // INSTANCES_TABLE
	OutboxTable    string        // OUTBOX_TABLE, the messages the sessions send
	Retention      time.Duration // RETENTION_DAYS, default 30: how long outbox messages are kept, as the API keeps them
	// MediaAllow are destinations media links may be fetched from although private or
	// loopback, WEBHOOK_ALLOW_CIDRS as for webhooks (the local stack allows 127.0.0.0/8).
	MediaAllow []netip.Prefix
	// MediaRootCAs are the certificate authorities media links are checked against instead of
	// the system's. No variable sets it: the host trusts the system's; only the local stack's
	// tests set it, to send media from a test server's https link.
	MediaRootCAs *x509.CertPool
	// Media is where received files go: MEDIA_BUCKET, "" to store none (the events then carry
	// the files' details without mediaId and url); with a bucket, MEDIA_LINK_KEY and
	// MEDIA_LINK_BASE are required.
	Media         MediaConfig
	QueueURL      string        // EVENTS_QUEUE_URL
	HealthAddr    string        // HEALTH_ADDR, default :8081
	Capacity      int           // HOST_CAPACITY, instances at most, default 500
	LeaseTTL      time.Duration // LEASE_TTL, default 30s
	LeaseInterval time.Duration // LEASE_INTERVAL, default 10s
	Linger        time.Duration // PUBLISH_LINGER, default 20ms
	// Store is where whatsmeow keeps device keys, WA_STORE: "sqlite" (the default) in
	// DataDir/whatsmeow.db, "postgres" at StoreDSN, or "dynamodb" in DevicesTable.
	Store        string
	DataDir      string // DATA_DIR, default ./data; only with WA_STORE=sqlite
	StoreDSN     string // WA_STORE_DSN, a postgres:// URL; only with WA_STORE=postgres
	DevicesTable string // DEVICES_TABLE; only with WA_STORE=dynamodb
}

// LoadConfig reads Config from v, reporting every bad setting at once.
func LoadConfig(v *env.Vars) (Config, error) {
	name, _ := os.Hostname()
	c := Config{
		HostID:         name + "-" + strings.ToLower(rand.Text()[:6]),
		InstancesTable: v.Required("INSTANCES_TABLE"),
		QueueURL:       v.Required("EVENTS_QUEUE_URL"),
		OutboxTable:    v.Required("OUTBOX_TABLE"),
		Retention:      time.Duration(v.Int("RETENTION_DAYS", 30, 1)) * 24 * time.Hour,
		MediaAllow:     v.Prefixes("WEBHOOK_ALLOW_CIDRS"),
		HealthAddr:     v.String("HEALTH_ADDR", ":8081"),
		Capacity:       v.Int("HOST_CAPACITY", 500, 1),
		LeaseTTL:       v.Duration("LEASE_TTL", 30*time.Second),
		LeaseInterval:  v.Duration("LEASE_INTERVAL", 10*time.Second),
		Linger:         v.Duration("PUBLISH_LINGER", 20*time.Millisecond),
		Store:          v.String("WA_STORE", "sqlite"),
	}
	switch c.Store {
	case "sqlite":
		c.DataDir = v.String("DATA_DIR", "data")
		v.Unset("WA_STORE_DSN", "with WA_STORE=postgres")
		v.Unset("DEVICES_TABLE", "with WA_STORE=dynamodb")
	case "postgres":
		c.StoreDSN = v.Required("WA_STORE_DSN")
		v.Unset("DEVICES_TABLE", "with WA_STORE=dynamodb")
	case "dynamodb":
		c.DevicesTable = v.Required("DEVICES_TABLE")
		v.Unset("WA_STORE_DSN", "with WA_STORE=postgres")
	default:
		v.Fail(fmt.Errorf("WA_STORE: want sqlite, postgres or dynamodb, got %q", c.Store))
	}
	c.Media = loadMediaConfig(v)
	if c.LeaseInterval >= c.LeaseTTL {
		v.Fail(fmt.Errorf("LEASE_INTERVAL (%s) must be shorter than LEASE_TTL (%s)", c.LeaseInterval, c.LeaseTTL))
	}
	if err := v.Err(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// MediaConfig is how the host stores received files.
type MediaConfig struct {
	Bucket   string        // MEDIA_BUCKET
	LinkKey  []byte        // MEDIA_LINK_KEY, signs the links (as the media function checks them)
	LinkBase string        // MEDIA_LINK_BASE, the API's URL (https://…/v1)
	LinkTTL  time.Duration // MEDIA_LINK_TTL, default 24h
	// MaxBytes is the largest file downloaded, MEDIA_MAX_BYTES (default 100 MiB).
	MaxBytes int64
	// Timeout bounds one file's download and storing, retries included,
	// MEDIA_DOWNLOAD_TIMEOUT (default 20 s).
	Timeout time.Duration
}

func loadMediaConfig(v *env.Vars) MediaConfig {
	c := MediaConfig{Bucket: v.String("MEDIA_BUCKET", "")}
	if c.Bucket == "" {
		for _, name := range []string{"MEDIA_LINK_KEY", "MEDIA_LINK_BASE", "MEDIA_LINK_TTL", "MEDIA_MAX_BYTES", "MEDIA_DOWNLOAD_TIMEOUT"} {
			v.Unset(name, "with MEDIA_BUCKET")
		}
		return c
	}
	c.LinkKey = []byte(v.Secret("MEDIA_LINK_KEY", media.MinLinkKey))
	c.LinkBase = v.Required("MEDIA_LINK_BASE")
	if u, err := url.Parse(c.LinkBase); c.LinkBase != "" && (err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "") {
		v.Fail(fmt.Errorf("MEDIA_LINK_BASE: want the API's absolute http(s) URL, got %q", c.LinkBase))
	}
	c.LinkTTL = v.Duration("MEDIA_LINK_TTL", media.DefaultLinkTTL)
	c.MaxBytes = int64(v.Int("MEDIA_MAX_BYTES", 100<<20, 1))
	c.Timeout = v.Duration("MEDIA_DOWNLOAD_TIMEOUT", 20*time.Second)
	return c
}
