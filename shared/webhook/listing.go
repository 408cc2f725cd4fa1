package webhook

// LogFilter selects logs; empty fields match everything.
type LogFilter struct {
	InstanceID string
	Status     string
	Event      string
}

// Matches reports whether l is one of the logs f selects.
func (f LogFilter) Matches(l *Log) bool {
	return (f.InstanceID == "" || f.InstanceID == l.InstanceID) &&
		(f.Status == "" || f.Status == l.Status) &&
		(f.Event == "" || f.Event == l.Event)
}

// Page is one page of a listing.
type Page struct {
	Logs []*Log
	// Before is the webhook id to pass to List for the next page; "" on the last page.
	Before string
}

// IDRange bounds the webhook ids a query reads: Before is exclusive, From and To inclusive;
// empty bounds are open.
type IDRange struct {
	From, To, Before string
}
