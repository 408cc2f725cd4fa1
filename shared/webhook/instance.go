package webhook

import "time"

// SecretOverlap is how long a rotated-out secret keeps signing beside the new one.
const SecretOverlap = 24 * time.Hour

// Instance is one WhatsApp account and its webhook settings.
type Instance struct {
	ID            string
	Name          string
	WebhookURL    string   // "" when webhooks are off
	WebhookEvents []string // nil or empty: every event
	WebhookSecret string
	// PreviousSecret still signs until PreviousSecretExpiresAt, during a rotation.
	PreviousSecret          string
	PreviousSecretExpiresAt time.Time
	CreatedAt               time.Time
	UpdatedAt               time.Time
	// Circuit is the shared state of the circuit breaker of the webhook URL, kept by the
	// delivery functions; never shown by the API.
	Circuit Circuit
}

// Circuit is what every delivery function knows of one webhook URL's circuit breaker.
type Circuit struct {
	URL       string    // the URL it is about: another URL's state is void
	Failures  int       // consecutive attempts that got no answer, from any function
	OpenUntil time.Time // zero while closed
	Period    time.Duration
}

// For reports the circuit of url: the zero Circuit when the state is another URL's.
func (c Circuit) For(url string) Circuit {
	if c.URL != url {
		return Circuit{URL: url}
	}
	return c
}

// Subscribes reports whether the instance wants event.
func (in *Instance) Subscribes(event string) bool {
	if len(in.WebhookEvents) == 0 {
		return true
	}
	for _, e := range in.WebhookEvents {
		if e == event || e == "*" {
			return true
		}
	}
	return false
}

// SigningSecrets returns the secrets that sign a webhook sent at now: the current one, and the
// previous one while its overlap lasts.
func (in *Instance) SigningSecrets(now time.Time) []string {
	out := []string{in.WebhookSecret}
	if in.PreviousSecret != "" && now.Before(in.PreviousSecretExpiresAt) {
		out = append(out, in.PreviousSecret)
	}
	return out
}
