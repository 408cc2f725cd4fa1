package webhook

import "strconv"

// Version is wagate's version, sent in the User-Agent header.
const Version = "0.1.0"

// UserAgent is the User-Agent of every webhook request.
const UserAgent = "wagate/" + Version

// Sent is what a log keeps of the request its last HTTP attempt made: the header values it
// cannot rebuild from its own fields. RequestHeaders rebuilds the rest (the webhook id and
// event are the log's; the content type and user agent are constants), so a log stores a few
// dozen bytes rather than every header.
type Sent struct {
	Timestamp int64  // webhook-timestamp, Unix seconds
	Signature string // webhook-signature; "" when sent unsigned (a test by URL with no secret)
	Attempt   int    // X-Webhook-Attempt
}

// Header is one header of a webhook request.
type Header struct{ Name, Value string }

// RequestHeaders lists the headers of the request for webhook id of event that s describes,
// as the sender sets them and the API shows them. Names are spelled as Standard Webhooks
// and wagate document them; HTTP names are case-insensitive (Go's client writes Webhook-Id
// on HTTP/1.1, and HTTP/2 lowercases every name).
func RequestHeaders(id, event string, s Sent) []Header {
	h := []Header{
		{HeaderID, id},
		{HeaderTimestamp, strconv.FormatInt(s.Timestamp, 10)},
	}
	if s.Signature != "" {
		h = append(h, Header{HeaderSignature, s.Signature})
	}
	return append(h,
		Header{"Content-Type", "application/json"},
		Header{"User-Agent", UserAgent},
		Header{HeaderEvent, event},
		Header{HeaderAttempt, strconv.Itoa(s.Attempt)},
	)
}

// RequestHeaders returns the headers the log's last HTTP attempt carried, name to value, or
// nil when no HTTP attempt was made (or the log was written before logs kept them).
func (l *Log) RequestHeaders() map[string]string {
	if l.Sent == nil {
		return nil
	}
	out := map[string]string{}
	for _, h := range RequestHeaders(l.WebhookID, l.Event, *l.Sent) {
		out[h.Name] = h.Value
	}
	return out
}
