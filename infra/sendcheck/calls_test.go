package sendcheck_test

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/aws/aws-lambda-go/events"

	"github.com/wagate/wagate/infra/wasim"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
)

// callAnswer is a call route's answer as API Gateway gets it.
type callAnswer struct {
	status     int
	retryAfter string
	took       time.Duration
	body       struct {
		Success bool
		Data    json.RawMessage
		Error   struct{ Code, Message string }
	}
}

// contact asks GET contacts/{jid} through the messages API, as API Gateway hands it over.
func (r *rig) contact(instanceID, jid string) callAnswer {
	r.t.Helper()
	start := time.Now()
	resp, err := r.api.Serve(r.ctx, events.APIGatewayProxyRequest{
		HTTPMethod: http.MethodGet, Resource: "/api/instance/{instanceId}/contacts/{jid}",
		Path:           "/api/instance/" + instanceID + "/contacts/" + jid,
		PathParameters: map[string]string{"instanceId": instanceID, "jid": jid},
	})
	if err != nil {
		r.t.Fatal(err)
	}
	a := callAnswer{status: resp.StatusCode, retryAfter: resp.Headers["Retry-After"], took: time.Since(start)}
	if err := json.Unmarshal([]byte(resp.Body), &a.body); err != nil {
		r.t.Fatalf("answer %s: %v", resp.Body, err)
	}
	return a
}

// TestCallHostStoppedMidCall stops the host holding an instance while a call is with
// WhatsApp (the simulated server holds the query unanswered): the API answers 503
// unavailable with Retry-After within its 20 s bound; once the lease has moved to a second
// host, the same call succeeds there, and the first, past its deadline, is never done again.
func TestCallHostStoppedMidCall(t *testing.T) {
	r := newRig(t, wasim.Options{Delivered: time.Hour})
	first := r.startHost("calls-host-1", r.awsCfg, nil)
	const id = "calls-stopped"
	r.linkedInstance(id, "6281200000001")
	const contact = "6281234567890@s.whatsapp.net"

	if a := r.contact(id, contact); a.status != 200 {
		t.Fatalf("before the stop: %d %+v", a.status, a.body)
	}

	r.network.SetDown(true)
	asked := r.network.UserInfoQueries()
	answered := make(chan callAnswer, 1)
	go func() { answered <- r.contact(id, contact) }()
	waitFor(t, 10*time.Second, "the call to reach WhatsApp", func() bool { return r.network.UserInfoQueries() > asked })
	first.kill()
	r.network.SetDown(false)

	a := <-answered
	if a.status != 503 || a.body.Error.Code != "unavailable" || a.retryAfter == "" {
		t.Fatalf("mid-call stop answered %d %q %+v", a.status, a.retryAfter, a.body)
	}
	if a.took > outbox.CallAnswerBound+time.Second {
		t.Fatalf("mid-call stop answered after %v, over the %v bound", a.took, outbox.CallAnswerBound)
	}
	recs, _, err := r.outbox.List(r.ctx, id, store.OutboxFilter{}, 10, "")
	if err != nil || len(recs) != 2 {
		t.Fatalf("%d records: %v", len(recs), err)
	}
	stopped := recs[0] // newest first

	r.startHost("calls-host-2", r.awsCfg, nil)
	var after callAnswer
	waitFor(t, time.Minute, "a call answered by the second host", func() bool {
		after = r.contact(id, contact)
		return after.status == 200
	})
	var info outbox.ContactInfo
	if err := json.Unmarshal(after.body.Data, &info); err != nil || info.JID != contact || info.About == nil || info.PictureURL == nil {
		t.Fatalf("after the move: %s (%v)", after.body.Data, err)
	}
	// The call the API gave up on ended failed, unanswered, on the second host: it was past
	// its deadline.
	waitFor(t, 30*time.Second, "the stopped call to end", func() bool {
		rec, err := r.outbox.Get(context.Background(), id, stopped.MessageID)
		return err == nil && !rec.Status.Pending()
	})
	rec, _ := r.outbox.Get(context.Background(), id, stopped.MessageID)
	if rec.Status != outbox.StatusFailed || rec.Result != nil {
		t.Fatalf("the stopped call ended %s with %s", rec.Status, rec.Result)
	}
}
