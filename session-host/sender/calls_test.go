package sender

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wagate/wagate/session-host/calls"
	"github.com/wagate/wagate/shared/outbox"
)

// fakeCalls answers calls with what its steps say, one step a call, the last repeated.
type fakeCalls struct {
	mu    sync.Mutex
	steps []func(now time.Time) (*outbox.CallResult, error)
	n     int
}

func (f *fakeCalls) Do(_ context.Context, _ *outbox.Call, now time.Time) (*outbox.CallResult, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	step := f.steps[min(f.n, len(f.steps)-1)]
	f.n++
	return step(now)
}

func (f *fakeCalls) calls() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}

func answered(now time.Time) (*outbox.CallResult, error) {
	return &outbox.CallResult{Data: json.RawMessage(`{"ok":true}`)}, nil
}

func failing(time.Time) (*outbox.CallResult, error) { return nil, errors.New("connection lost") }

func waitFor(d time.Duration) func(now time.Time) (*outbox.CallResult, error) {
	return func(now time.Time) (*outbox.CallResult, error) { return nil, &calls.WaitError{Until: now.Add(d)} }
}

// call is a call record accepted at epoch with its deadline, op changing something or not.
func call(op string, attempts int) *outbox.Record {
	return &outbox.Record{
		InstanceID: "inst", MessageID: "3EB0CA11", Seq: 1, Status: outbox.StatusQueued, Attempts: attempts,
		Message:    &outbox.Message{Chat: "120363025246125486@g.us", Type: outbox.TypeCall, Call: &outbox.Call{Op: op, Group: &outbox.Group{JID: "120363025246125486@g.us"}}},
		AcceptedAt: epoch, UpdatedAt: epoch, ExpiresAt: epoch.Add(outbox.CallDeadline), Version: 1,
	}
}

func TestSenderCalls(t *testing.T) {
	for _, tt := range []struct {
		name   string
		rec    *outbox.Record
		start  time.Duration // the clock's start after epoch
		steps  []func(time.Time) (*outbox.CallResult, error)
		status outbox.Status
		code   string // the answer's error code, "" for data
		calls  int
	}{
		{"answered", call(outbox.OpGroupInfo, 0), 0, []func(time.Time) (*outbox.CallResult, error){answered}, outbox.StatusSent, "", 1},
		{"past its deadline: never started", call(outbox.OpGroupInfo, 0), outbox.CallDeadline, []func(time.Time) (*outbox.CallResult, error){answered}, outbox.StatusFailed, "", 0},
		{"the pace's turn within the deadline: done then", call(outbox.OpContactsCheck, 0), 0, []func(time.Time) (*outbox.CallResult, error){waitFor(3 * time.Second), answered}, outbox.StatusSent, "", 2},
		{"the pace's turn after the deadline: unavailable", call(outbox.OpContactsCheck, 0), 0, []func(time.Time) (*outbox.CallResult, error){waitFor(time.Minute)}, outbox.StatusSent, "unavailable", 1},
		{"a read whose request failed is tried again", call(outbox.OpGroupInfo, 0), 0, []func(time.Time) (*outbox.CallResult, error){failing, failing, answered}, outbox.StatusSent, "", 3},
		{"a read failing to its deadline ends failed", call(outbox.OpGroupInfo, 0), 0, []func(time.Time) (*outbox.CallResult, error){failing}, outbox.StatusFailed, "", 18},
		{"a change whose request failed is not made again", call(outbox.OpGroupLeave, 0), 0, []func(time.Time) (*outbox.CallResult, error){failing, answered}, outbox.StatusSent, "unavailable", 1},
		{"an answer too large to keep", call(outbox.OpGroupsList, 0), 0, []func(time.Time) (*outbox.CallResult, error){func(time.Time) (*outbox.CallResult, error) {
			return &outbox.CallResult{Data: json.RawMessage(`"` + strings.Repeat("g", maxResult) + `"`)}, nil
		}}, outbox.StatusSent, "payload_too_large", 1},
		{"a change another host started is not made again", call(outbox.OpGroupLeave, 1), 0, []func(time.Time) (*outbox.CallResult, error){answered}, outbox.StatusFailed, "", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, noPace, tt.rec)
			r.clock.t = epoch.Add(tt.start)
			f := &fakeCalls{steps: tt.steps}
			r.sender.calls, r.sender.paced = f, outbox.Type.Paced
			r.client.setConnected(true)
			r.run()
			eventually(t, r.settled)
			r.stop()
			got := r.store.get(t, tt.rec.MessageID)
			if got.Status != tt.status || f.calls() != tt.calls {
				t.Fatalf("status %s after %d calls, want %s after %d", got.Status, f.calls(), tt.status, tt.calls)
			}
			var res outbox.CallResult
			if got.Result != nil {
				if err := json.Unmarshal(got.Result, &res); err != nil {
					t.Fatal(err)
				}
			}
			switch {
			case tt.status == outbox.StatusFailed && got.Result != nil:
				t.Fatalf("failed with an answer %s", got.Result)
			case tt.status == outbox.StatusSent && tt.code == "" && (res.Error != nil || res.Data == nil):
				t.Fatalf("answer %s, want data", got.Result)
			case tt.code != "" && (res.Error == nil || res.Error.Code != tt.code || (tt.code == "unavailable") != (res.Error.RetryAfterMs > 0)):
				t.Fatalf("answer %s, want %s with a time to try again", got.Result, tt.code)
			}
			if n := r.events.count(); n != 0 {
				t.Fatalf("%d webhooks for a call", n)
			}
		})
	}
}
