package webhook

import (
	"crypto/rand"
	"time"

	"github.com/oklog/ulid/v2"
)

// Job states.
const (
	// JobRunning: the jobs function still has work queued for the job.
	JobRunning = "running"
	// JobComplete: a run found nothing left to do.
	JobComplete = "complete"
)

// JobProgress is how far a clear or recover that went on in the background has got.
type JobProgress struct {
	JobID      string
	Kind       string // "clear" or "recover"
	InstanceID string // "" for every instance
	Status     string // JobRunning or JobComplete
	// Count is what every run recorded so far did: logs deleted by a clear, webhooks queued
	// again by a recover, the starting request's share included.
	Count     int
	CreatedAt time.Time
	UpdatedAt time.Time
}

// JobRun is what one run of a job did: the starting request's share, or one handling of a
// job message by the jobs function. Run names it, so that recording it twice (a write the SDK
// sent again) counts it once.
type JobRun struct {
	JobID      string
	Kind       string
	InstanceID string
	CreatedAt  time.Time // when the job began, the same for each of its runs
	Run        string
	Count      int
	Done       bool // the run found nothing left: the job is complete
	At         time.Time
}

// NewJobID returns a new job id: "job_" and a ULID.
func NewJobID(now time.Time) string {
	return "job_" + ulid.MustNew(ulid.Timestamp(now), rand.Reader).String()
}

// ValidJobID reports whether id is spelled as NewJobID spells ids (a ULID in capitals).
func ValidJobID(id string) bool {
	if len(id) != 4+ulid.EncodedSize || id[:4] != "job_" {
		return false
	}
	u, err := ulid.ParseStrict(id[4:])
	return err == nil && u.String() == id[4:]
}
