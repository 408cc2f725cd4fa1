package store_test

import (
	"testing"
	"time"

	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// The shared circuit of an instance's webhook URL: failures count up, an opening holds only
// over the state it saw, a new URL starts afresh, an answer closes it, and the instance read
// brings it along.
func TestSharedCircuit(t *testing.T) {
	r := newInstanceRig(t)
	const url, other = "https://example.com/a", "https://example.com/b"
	r.create("inst_c")
	setURL := func(u string) {
		t.Helper()
		if _, err := r.s.Update(r.ctx, "inst_c", store.UpdateInstance{WebhookURL: &u}, time.Now()); err != nil {
			t.Fatal(err)
		}
	}
	fail := func(u string) webhook.Circuit {
		t.Helper()
		c, err := r.s.AddCircuitFailure(r.ctx, "inst_c", u)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	open := func(u string, seen, until time.Time) bool {
		t.Helper()
		ok, err := r.s.OpenCircuit(r.ctx, "inst_c", u, seen, until, 30*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	setURL(url)
	if c := fail(url); c.URL != url || c.Failures != 1 || !c.OpenUntil.IsZero() {
		t.Fatalf("after one failure: %+v", c)
	}
	if c := fail(url); c.Failures != 2 {
		t.Fatalf("after two failures: %+v", c)
	}
	if c := fail(other); c.URL != "" {
		t.Fatalf("a failure of a URL the instance no longer has counted: %+v", c)
	}
	until := time.Now().Add(time.Minute).Truncate(time.Millisecond)
	if !open(url, time.Time{}, until) {
		t.Fatal("opening a closed circuit failed")
	}
	if open(url, time.Time{}, until.Add(time.Minute)) {
		t.Fatal("a second opening over a state it did not see held")
	}
	if !open(url, until, until.Add(time.Minute)) {
		t.Fatal("moving the open time from the one seen failed (a probe's claim)")
	}
	in, err := r.s.Get(r.ctx, "inst_c")
	if err != nil {
		t.Fatal(err)
	}
	if c := in.Circuit.For(url); c.Failures != 2 || !c.OpenUntil.Equal(until.Add(time.Minute)) || c.Period != 30*time.Second {
		t.Fatalf("the instance read brings %+v", in.Circuit)
	}
	setURL(other)
	if c := fail(other); c.URL != other || c.Failures != 1 || !c.OpenUntil.IsZero() {
		t.Fatalf("a new URL's first failure: %+v", c)
	}
	if err := r.s.CloseCircuit(r.ctx, "inst_c", other); err != nil {
		t.Fatal(err)
	}
	if in, err = r.s.Get(r.ctx, "inst_c"); err != nil || in.Circuit != (webhook.Circuit{}) {
		t.Fatalf("after closing: %+v %v", in.Circuit, err)
	}
}
