package wiringcheck

import (
	"context"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/aws/smithy-go/middleware"

	"github.com/wagate/wagate/infra/awstest"
	"github.com/wagate/wagate/infra/samtemplate"
	"github.com/wagate/wagate/session-host/host"
	"github.com/wagate/wagate/session-host/lease"
	"github.com/wagate/wagate/session-host/sender"
	"github.com/wagate/wagate/shared/outbox"
	"github.com/wagate/wagate/shared/store"
	"github.com/wagate/wagate/shared/webhook"
)

// hostRole is the logical id of the session host's task role.
const hostRole = "SessionHostTaskRole"

// instanceSecrets are the attributes of an instance item that sign its webhooks; the session
// host never uses them.
var instanceSecrets = []string{"webhookSecret", "previousSecret"}

// hostStores are the interfaces through which the session host reaches DynamoDB outside
// whatsmeow's device store (the devices table, which holds no instance). The host's pace
// lookup goes through SessionStore.GetSession.
var hostStores = []reflect.Type{
	reflect.TypeFor[lease.Store](),
	reflect.TypeFor[host.SessionStore](),
	reflect.TypeFor[host.PairingStore](),
	reflect.TypeFor[host.WorkStore](),
	reflect.TypeFor[sender.Store](),
}

// request is one DynamoDB call as IAM sees it for the fine-grained conditions: its action,
// the index it queries, and its condition keys.
type request struct {
	what       string // for messages
	action     string // e.g. dynamodb:GetItem
	index      string // a Query's index
	attributes []string
	selects    string // dynamodb:Select, "" when the request has none
	returns    string // dynamodb:ReturnValues, "" when the request has none
}

// statement is one IAM policy statement as the template writes it.
type statement struct {
	Sid       string
	Effect    string
	Action    any
	Resource  any
	Condition map[string]map[string]any
}

func strs(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		var out []string
		for _, e := range v {
			out = append(out, fmt.Sprint(e))
		}
		return out
	}
	return nil
}

// hostPolicy returns the statements of the session host's task role.
func hostPolicy(t *testing.T) []statement {
	t.Helper()
	var role struct {
		Properties struct {
			Policies []struct {
				PolicyDocument struct{ Statement []statement }
			}
		}
	}
	if err := template(t).Resource(hostRole, &role); err != nil {
		t.Fatal(err)
	}
	var out []statement
	for _, p := range role.Properties.Policies {
		out = append(out, p.PolicyDocument.Statement...)
	}
	if len(out) == 0 {
		t.Fatalf("%s has no policy statements", hostRole)
	}
	return out
}

// allows reports whether the statements allow r on the instances table (or, for a Query with
// an index, on that index), and if not, why.
func allows(t *testing.T, stmts []statement, r request) (bool, string) {
	t.Helper()
	table := samtemplate.GetAttMarker("InstancesTable", "Arn")
	why := "no statement grants " + r.action
	for _, s := range stmts {
		if s.Effect != "Allow" || !slices.ContainsFunc(strs(s.Action), func(a string) bool {
			return a == "*" || a == "dynamodb:*" || a == r.action
		}) {
			continue
		}
		// Fn::Sub loses the table of an index ARN (see samtemplate.Template.Resource): an
		// index is known by its name, which no other table's index shares.
		if !slices.ContainsFunc(strs(s.Resource), func(res string) bool {
			if r.index != "" {
				return res == "*" || strings.HasSuffix(res, "/index/"+r.index) || strings.HasSuffix(res, "/index/*")
			}
			return res == "*" || res == table
		}) {
			continue
		}
		if ok, reason := meets(t, s, r); ok {
			return true, ""
		} else {
			why = fmt.Sprintf("statement %s: %s", s.Sid, reason)
		}
	}
	return false, why
}

// meets evaluates a statement's conditions on r, as IAM does for the keys DynamoDB sets.
func meets(t *testing.T, s statement, r request) (bool, string) {
	t.Helper()
	for op, keys := range s.Condition {
		for key, v := range keys {
			want := strs(v)
			switch {
			case op == "ForAllValues:StringEquals" && key == "dynamodb:Attributes":
				for _, a := range r.attributes {
					if !slices.Contains(want, a) {
						return false, fmt.Sprintf("attribute %s is not among %v", a, want)
					}
				}
			case op == "StringEqualsIfExists" && key == "dynamodb:Select":
				if r.selects != "" && !slices.Contains(want, r.selects) {
					return false, fmt.Sprintf("Select %s is not %v", r.selects, want)
				}
			case op == "StringEqualsIfExists" && key == "dynamodb:ReturnValues":
				if r.returns != "" && !slices.Contains(want, r.returns) {
					return false, fmt.Sprintf("ReturnValues %s is not %v", r.returns, want)
				}
			default:
				t.Fatalf("statement %s: this test does not evaluate condition %s %s", s.Sid, op, key)
			}
		}
	}
	return true, ""
}

var (
	expressionToken = regexp.MustCompile(`[:#]?[A-Za-z_][A-Za-z0-9_]*`)
	// expressionWords are the expression grammar's keywords and functions.
	expressionWords = []string{
		"set", "remove", "add", "delete", "and", "or", "not", "between", "in",
		"attribute_exists", "attribute_not_exists", "attribute_type", "begins_with", "contains",
		"size", "if_not_exists", "list_append",
	}
)

// attributesOf returns the top-level attributes the expressions and key name.
func attributesOf(key map[string]types.AttributeValue, names map[string]string, exprs ...*string) []string {
	var out []string
	for k := range key {
		out = append(out, k)
	}
	for _, e := range exprs {
		for _, tok := range expressionToken.FindAllString(aws.ToString(e), -1) {
			switch {
			case strings.HasPrefix(tok, ":"):
			case strings.HasPrefix(tok, "#"):
				out = append(out, names[tok])
			case !slices.Contains(expressionWords, strings.ToLower(tok)):
				out = append(out, tok)
			}
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// readSelect is dynamodb:Select of a read: without a projection it reads every attribute.
func readSelect(projection *string) string {
	if aws.ToString(projection) == "" {
		return string(types.SelectAllAttributes)
	}
	return string(types.SelectSpecificAttributes)
}

// requestsOn returns the requests among a call's input that touch table.
func requestsOn(t *testing.T, table string, in any) []request {
	t.Helper()
	switch in := in.(type) {
	case *dynamodb.GetItemInput:
		if aws.ToString(in.TableName) == table {
			return []request{{what: fmt.Sprintf("GetItem %s", aws.ToString(in.ProjectionExpression)), action: "dynamodb:GetItem",
				attributes: attributesOf(in.Key, in.ExpressionAttributeNames, in.ProjectionExpression), selects: readSelect(in.ProjectionExpression)}}
		}
	case *dynamodb.BatchGetItemInput:
		if ka, ok := in.RequestItems[table]; ok {
			r := request{what: fmt.Sprintf("BatchGetItem %s", aws.ToString(ka.ProjectionExpression)), action: "dynamodb:BatchGetItem", selects: readSelect(ka.ProjectionExpression)}
			for _, k := range ka.Keys {
				r.attributes = append(r.attributes, attributesOf(k, ka.ExpressionAttributeNames, ka.ProjectionExpression)...)
			}
			slices.Sort(r.attributes)
			r.attributes = slices.Compact(r.attributes)
			return []request{r}
		}
	case *dynamodb.UpdateItemInput:
		if aws.ToString(in.TableName) == table {
			return []request{{what: fmt.Sprintf("UpdateItem %s", aws.ToString(in.UpdateExpression)), action: "dynamodb:UpdateItem",
				attributes: attributesOf(in.Key, in.ExpressionAttributeNames, in.UpdateExpression, in.ConditionExpression),
				returns:    string(in.ReturnValues)}}
		}
	case *dynamodb.QueryInput:
		if aws.ToString(in.TableName) == table {
			return []request{{what: fmt.Sprintf("Query %s", aws.ToString(in.IndexName)), action: "dynamodb:Query", index: aws.ToString(in.IndexName)}}
		}
	case *dynamodb.PutItemInput:
		if aws.ToString(in.TableName) == table {
			return []request{{what: "PutItem", action: "dynamodb:PutItem"}}
		}
	case *dynamodb.DeleteItemInput:
		if aws.ToString(in.TableName) == table {
			return []request{{what: "DeleteItem", action: "dynamodb:DeleteItem"}}
		}
	case *dynamodb.TransactWriteItemsInput:
		for _, it := range in.TransactItems {
			if (it.Update != nil && aws.ToString(it.Update.TableName) == table) || (it.Put != nil && aws.ToString(it.Put.TableName) == table) ||
				(it.Delete != nil && aws.ToString(it.Delete.TableName) == table) || (it.ConditionCheck != nil && aws.ToString(it.ConditionCheck.TableName) == table) {
				return []request{{what: "TransactWriteItems", action: "dynamodb:TransactWriteItems"}}
			}
		}
	case *dynamodb.ScanInput, *dynamodb.TransactGetItemsInput, *dynamodb.BatchWriteItemInput, *dynamodb.ExecuteStatementInput:
		t.Fatalf("the host made a %T call, which this test does not read", in)
	}
	return nil
}

// recorder keeps the input of every DynamoDB call made through a client it is added to.
type recorder struct {
	mu     sync.Mutex
	inputs []any
}

func (r *recorder) add(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("recordInput",
		func(ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (middleware.InitializeOutput, middleware.Metadata, error) {
			r.mu.Lock()
			r.inputs = append(r.inputs, in.Parameters)
			r.mu.Unlock()
			return next.HandleInitialize(ctx, in)
		}), middleware.Before)
}

// The session host's role cannot read an instance's webhook secrets: a read of the instances
// table that does not project, or projects a secret, or an update that returns the whole item,
// is refused by the role's policy as IAM evaluates it.
func TestHostRoleCannotReadWebhookSecrets(t *testing.T) {
	stmts := hostPolicy(t)
	key := map[string]types.AttributeValue{"instanceId": &types.AttributeValueMemberS{Value: "inst_1"}}
	projecting := func(attrs ...string) request {
		return request{action: "dynamodb:GetItem", attributes: append([]string{"instanceId"}, attrs...), selects: string(types.SelectSpecificAttributes)}
	}
	tests := []struct {
		name string
		r    request
		want bool
	}{
		{"a session read", projecting("status", "deviceJid", "sendPace"), true},
		{"a whole item", request{action: "dynamodb:GetItem", attributes: attributesOf(key, nil), selects: string(types.SelectAllAttributes)}, false},
		{"a batch of whole items", request{action: "dynamodb:BatchGetItem", attributes: attributesOf(key, nil), selects: string(types.SelectAllAttributes)}, false},
		{"the secret", projecting("webhookSecret"), false},
		{"the previous secret", projecting("previousSecret"), false},
		{"the webhook URL", projecting("webhookUrl"), false},
		{"a lease update", request{action: "dynamodb:UpdateItem", attributes: []string{"instanceId", "leaseExpiresAt", "leaseOwner"}}, true},
		{"a lease update returning the item", request{action: "dynamodb:UpdateItem", attributes: []string{"instanceId", "leaseExpiresAt", "leaseOwner"}, returns: string(types.ReturnValueAllNew)}, false},
		{"a lease update returning the old item", request{action: "dynamodb:UpdateItem", attributes: []string{"instanceId", "leaseOwner"}, returns: string(types.ReturnValueAllOld)}, false},
		{"an update that sets the secret", request{action: "dynamodb:UpdateItem", attributes: []string{"instanceId", "webhookSecret"}, returns: string(types.ReturnValueUpdatedNew)}, false},
		{"a put", request{action: "dynamodb:PutItem", attributes: []string{"instanceId"}}, false},
		{"a query of the table", request{action: "dynamodb:Query", attributes: []string{"instanceId"}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got, why := allows(t, stmts, tt.r); got != tt.want {
				t.Fatalf("allowed = %v (%s), want %v", got, why, tt.want)
			}
		})
	}

	// The indexes the role may query project no secret.
	q, err := template(t).CloudFormation().GetDynamoDBTableWithName("InstancesTable")
	if err != nil {
		t.Fatal(err)
	}
	for _, gsi := range q.GlobalSecondaryIndexes {
		if ok, _ := allows(t, stmts, request{action: "dynamodb:Query", index: gsi.IndexName}); !ok {
			continue
		}
		p := gsi.Projection
		if p == nil || p.ProjectionType == nil || *p.ProjectionType == "ALL" {
			t.Errorf("index %s, which the host may query, projects every attribute", gsi.IndexName)
			continue
		}
		for _, a := range p.NonKeyAttributes {
			if slices.Contains(instanceSecrets, a) {
				t.Errorf("index %s, which the host may query, projects %s", gsi.IndexName, a)
			}
		}
	}
}

// Every call the session host's stores make on the instances table is one the role's policy
// allows: the host works under the restricted role. Each method of the host's store
// interfaces runs once against the emulator, and every request is recorded at the SDK.
func TestHostRequestsFitItsRole(t *testing.T) {
	res := awstest.Stack(t)
	cfg := awstest.Config(t)
	ctx := context.Background()
	instances, outboxTable := res.Table("InstancesTable"), res.Table("OutboxTable")
	rec := &recorder{}
	plain := dynamodb.NewFromConfig(cfg)
	recorded := dynamodb.NewFromConfig(cfg, func(o *dynamodb.Options) { o.APIOptions = append(o.APIOptions, rec.add) })

	// What the API does, unrecorded: the instance, a pairing request, a message.
	api := store.NewInstanceStore(plain, instances)
	apiOutbox := store.NewOutboxStore(plain, outboxTable, instances, 24*time.Hour)
	// What the host does, recorded.
	hostInstances := store.NewInstanceStore(recorded, instances)
	hostOutbox := store.NewOutboxStore(recorded, outboxTable, instances, 24*time.Hour)
	var (
		leases    lease.Store       = hostInstances
		sessions  host.SessionStore = hostInstances
		pairing   host.PairingStore = hostInstances
		work      host.WorkStore    = hostOutbox
		messages  sender.Store      = hostOutbox
		owner, id                   = "host-1", "inst_hostaccess"
		now                         = time.Now()
		called                      = map[string]bool{}
	)
	must := func(method string, err error) {
		t.Helper()
		called[method] = true
		if err != nil {
			t.Fatalf("%s: %v", method, err)
		}
	}
	if err := api.Create(ctx, &webhook.Instance{ID: id, WebhookURL: "https://example.com/hook", WebhookSecret: "whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0", CreatedAt: now, UpdatedAt: now}); err != nil {
		t.Fatal(err)
	}

	_, err := leases.AcquireLease(ctx, id, owner, now, time.Minute)
	must("AcquireLease", err)
	_, err = leases.RenewLease(ctx, id, owner, now, time.Minute)
	must("RenewLease", err)
	_, _, err = leases.ListLeases(ctx, 10, "")
	must("ListLeases", err)
	connected, jid := "connected", "447700900123:1@s.whatsapp.net"
	must("SetSession", sessions.SetSession(ctx, id, store.SessionUpdate{Status: &connected, DeviceJID: &jid}, now))
	_, err = sessions.GetSession(ctx, id)
	must("GetSession", err)

	if err := api.RequestPairing(ctx, store.PairRequest{InstanceID: id, RequestID: "req_1", Phone: "447700900123"}, now); err != nil {
		t.Fatal(err)
	}
	_, err = pairing.PendingPairings(ctx, owner)
	must("PendingPairings", err)
	_, err = pairing.AnswerPairing(ctx, id, store.PairAnswer{RequestID: "req_1", Code: "ABCD-EFGH"})
	must("AnswerPairing", err)

	msg, _, err := apiOutbox.Accept(ctx, &outbox.Record{
		InstanceID: id, MessageID: outbox.NewMessageID(), Status: outbox.StatusQueued,
		Message:    &outbox.Message{Chat: "447700900124@s.whatsapp.net", Type: outbox.TypeText, Text: &outbox.Text{Body: "hi"}},
		AcceptedAt: now, ExpiresAt: now.Add(outbox.DefaultTTL),
	}, "", now)
	if err != nil {
		t.Fatal(err)
	}
	marks, err := work.WorkFor(ctx, owner)
	must("WorkFor", err)
	for _, w := range marks {
		must("DoneWith", work.DoneWith(ctx, w))
	}
	_, err = messages.Pending(ctx, id, 10)
	must("Pending", err)
	got, err := messages.Get(ctx, id, msg.MessageID)
	must("Get", err)
	sending, err := got.Move(outbox.StatusSending, "", now)
	if err != nil {
		t.Fatal(err)
	}
	must("Update", messages.Update(ctx, got, sending))
	must("ReleaseLease", leases.ReleaseLease(ctx, id, owner))

	for _, iface := range hostStores {
		for i := range iface.NumMethod() {
			if m := iface.Method(i); !called[m.Name] {
				t.Errorf("%s.%s was not exercised: add it here so that its requests are checked", iface, m.Name)
			}
		}
	}

	stmts := hostPolicy(t)
	var checked int
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, in := range rec.inputs {
		for _, r := range requestsOn(t, instances, in) {
			checked++
			if ok, why := allows(t, stmts, r); !ok {
				t.Errorf("the host's %s (attributes %v) is refused by its role: %s", r.what, r.attributes, why)
			}
			if slices.ContainsFunc(r.attributes, func(a string) bool { return slices.Contains(instanceSecrets, a) }) {
				t.Errorf("the host's %s names a secret: %v", r.what, r.attributes)
			}
		}
	}
	if checked == 0 {
		t.Fatal("no request on the instances table recorded")
	}
	t.Logf("%d requests on the instances table checked against the role", checked)
}
