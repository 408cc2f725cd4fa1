package deliver

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/wagate/wagate/shared/webhook"
)

// Settings is the delivery function's configuration, read from its environment.
type Settings struct {
	LogTable       string        // WEBHOOK_LOG_TABLE
	StatsTable     string        // WEBHOOK_STATS_TABLE
	InstancesTable string        // INSTANCES_TABLE
	QueueURL       string        // EVENTS_QUEUE_URL
	Retention      time.Duration // RETENTION_DAYS, default 30
	Policy         webhook.RetryPolicy
	Sender         SenderOptions
	InstanceTTL    time.Duration // INSTANCE_CACHE_TTL, default 5s
}

// LoadSettings reads Settings through getenv (os.Getenv in production).
//
//	WEBHOOK_RETRY_DELAYS     delays before each retry, default "5s,10s,15s"
//	WEBHOOK_MAX_RETRY_AFTER  longest wait a Retry-After header can ask for, default 1h
//	WEBHOOK_TIMEOUT          per attempt, default 10s
//	WEBHOOK_ALLOW_CIDRS      destinations allowed although private, e.g. "127.0.0.0/8"
//	WEBHOOK_ALLOW_HTTP       "true" to allow plain http URLs
func LoadSettings(getenv func(string) string) (Settings, error) {
	s := Settings{
		LogTable:       getenv("WEBHOOK_LOG_TABLE"),
		StatsTable:     getenv("WEBHOOK_STATS_TABLE"),
		InstancesTable: getenv("INSTANCES_TABLE"),
		QueueURL:       getenv("EVENTS_QUEUE_URL"),
	}
	for name, v := range map[string]string{
		"WEBHOOK_LOG_TABLE": s.LogTable, "WEBHOOK_STATS_TABLE": s.StatsTable,
		"INSTANCES_TABLE": s.InstancesTable, "EVENTS_QUEUE_URL": s.QueueURL,
	} {
		if v == "" {
			return Settings{}, fmt.Errorf("%s is not set", name)
		}
	}
	days, err := intOr(getenv("RETENTION_DAYS"), 30)
	if err != nil || days < 1 {
		return Settings{}, fmt.Errorf("RETENTION_DAYS: want a whole number of days >= 1, got %q", getenv("RETENTION_DAYS"))
	}
	s.Retention = time.Duration(days) * 24 * time.Hour

	s.Policy.Schedule = webhook.DefaultRetryDelays
	if v, ok := lookup(getenv, "WEBHOOK_RETRY_DELAYS"); ok {
		if s.Policy.Schedule, err = webhook.ParseRetrySchedule(v); err != nil {
			return Settings{}, fmt.Errorf("WEBHOOK_RETRY_DELAYS: %w", err)
		}
	}
	if s.Policy.MaxRetryAfter, err = durationOr(getenv, "WEBHOOK_MAX_RETRY_AFTER", time.Hour); err != nil {
		return Settings{}, err
	}
	if s.Sender.Timeout, err = durationOr(getenv, "WEBHOOK_TIMEOUT", 10*time.Second); err != nil {
		return Settings{}, err
	}
	if s.InstanceTTL, err = durationOr(getenv, "INSTANCE_CACHE_TTL", 5*time.Second); err != nil {
		return Settings{}, err
	}
	if s.Sender.AllowedPrefixes, err = ParsePrefixes(getenv("WEBHOOK_ALLOW_CIDRS")); err != nil {
		return Settings{}, fmt.Errorf("WEBHOOK_ALLOW_CIDRS: %w", err)
	}
	if v := getenv("WEBHOOK_ALLOW_HTTP"); v != "" {
		if s.Sender.AllowHTTP, err = strconv.ParseBool(v); err != nil {
			return Settings{}, fmt.Errorf("WEBHOOK_ALLOW_HTTP: %w", err)
		}
	}
	return s, nil
}

// ParsePrefixes parses a comma-separated list of CIDRs.
func ParsePrefixes(v string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, part := range strings.Split(v, ",") {
		if part = strings.TrimSpace(part); part == "" {
			continue
		}
		p, err := netip.ParsePrefix(part)
		if err != nil {
			return nil, err
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

func lookup(getenv func(string) string, name string) (string, bool) {
	v := getenv(name)
	return v, v != ""
}

func intOr(v string, def int) (int, error) {
	if v == "" {
		return def, nil
	}
	return strconv.Atoi(v)
}

func durationOr(getenv func(string) string, name string, def time.Duration) (time.Duration, error) {
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
