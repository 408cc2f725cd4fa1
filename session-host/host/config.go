package host

import (
	"crypto/rand"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// Config is the session host's configuration, read from its environment.
type Config struct {
	HostID         string        // HOST_ID; random when unset (an ECS task is one host)
	InstancesTable string        // INSTANCES_TABLE
	QueueURL       string        // EVENTS_QUEUE_URL
	HealthAddr     string        // HEALTH_ADDR, default :8081
	Capacity       int           // HOST_CAPACITY, instances at most, default 500
	LeaseTTL       time.Duration // LEASE_TTL, default 30s
	LeaseInterval  time.Duration // LEASE_INTERVAL, default 10s
	Linger         time.Duration // PUBLISH_LINGER, default 20ms
	// Store is where whatsmeow keeps device keys, WA_STORE: "sqlite" (the default) in
	// DataDir/whatsmeow.db, "postgres" at StoreDSN, or "dynamodb" in DevicesTable.
	Store        string
	DataDir      string // DATA_DIR, default ./data
	StoreDSN     string // WA_STORE_DSN, a postgres:// URL; only with WA_STORE=postgres
	DevicesTable string // DEVICES_TABLE; only with WA_STORE=dynamodb
}

// LoadConfig reads Config through getenv.
func LoadConfig(getenv func(string) string) (Config, error) {
	c := Config{
		HostID: getenv("HOST_ID"), InstancesTable: getenv("INSTANCES_TABLE"), QueueURL: getenv("EVENTS_QUEUE_URL"),
		HealthAddr: or(getenv("HEALTH_ADDR"), ":8081"), Store: or(getenv("WA_STORE"), "sqlite"),
		DataDir: or(getenv("DATA_DIR"), "data"), StoreDSN: getenv("WA_STORE_DSN"), DevicesTable: getenv("DEVICES_TABLE"),
	}
	if c.HostID == "" {
		name, _ := os.Hostname()
		c.HostID = name + "-" + strings.ToLower(rand.Text()[:6])
	}
	if c.InstancesTable == "" || c.QueueURL == "" {
		return Config{}, fmt.Errorf("INSTANCES_TABLE and EVENTS_QUEUE_URL must be set")
	}
	switch {
	case c.Store != "sqlite" && c.Store != "postgres" && c.Store != "dynamodb":
		return Config{}, fmt.Errorf("WA_STORE: want sqlite, postgres or dynamodb, got %q", c.Store)
	case c.Store == "postgres" && c.StoreDSN == "":
		return Config{}, fmt.Errorf("WA_STORE_DSN must be set to a postgres:// URL with WA_STORE=postgres")
	case c.Store != "postgres" && c.StoreDSN != "":
		return Config{}, fmt.Errorf("WA_STORE_DSN is only read with WA_STORE=postgres (WA_STORE is %q)", c.Store)
	case c.Store == "dynamodb" && c.DevicesTable == "":
		return Config{}, fmt.Errorf("DEVICES_TABLE must be set with WA_STORE=dynamodb")
	case c.Store != "dynamodb" && c.DevicesTable != "":
		return Config{}, fmt.Errorf("DEVICES_TABLE is only read with WA_STORE=dynamodb (WA_STORE is %q)", c.Store)
	}
	var err error
	if c.Capacity, err = positiveInt(getenv, "HOST_CAPACITY", 500); err != nil {
		return Config{}, err
	}
	for _, d := range []struct {
		name string
		dst  *time.Duration
		def  time.Duration
	}{
		{"LEASE_TTL", &c.LeaseTTL, 30 * time.Second},
		{"LEASE_INTERVAL", &c.LeaseInterval, 10 * time.Second},
		{"PUBLISH_LINGER", &c.Linger, 20 * time.Millisecond},
	} {
		if *d.dst, err = positiveDuration(getenv, d.name, d.def); err != nil {
			return Config{}, err
		}
	}
	if c.LeaseInterval >= c.LeaseTTL {
		return Config{}, fmt.Errorf("LEASE_INTERVAL (%s) must be shorter than LEASE_TTL (%s)", c.LeaseInterval, c.LeaseTTL)
	}
	return c, nil
}

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func positiveInt(getenv func(string) string, name string, def int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		return 0, fmt.Errorf("%s: want a whole number >= 1, got %q", name, v)
	}
	return n, nil
}

func positiveDuration(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		return 0, fmt.Errorf("%s: want a positive duration such as 10s, got %q", name, v)
	}
	return d, nil
}
