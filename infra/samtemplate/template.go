// Package samtemplate reads the repository's SAM template and creates its DynamoDB tables and
// SQS queues on any DynamoDB/SQS endpoint (moto, LocalStack, AWS), so tests and the local
// stack run against exactly the resources that are deployed.
package samtemplate

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"

	"github.com/awslabs/goformation/v7/cloudformation"
	cfnddb "github.com/awslabs/goformation/v7/cloudformation/dynamodb"
	cfnsqs "github.com/awslabs/goformation/v7/cloudformation/sqs"
	"github.com/awslabs/goformation/v7/intrinsics"
)

// TemplateFile is the SAM template's name at the repository root.
const TemplateFile = "template.yaml"

// RepoRoot walks up from the working directory to the directory holding go.mod and the
// template, so code run from any package directory (go test) finds the same files.
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("find repo root: %w", err)
	}
	for {
		if isFile(filepath.Join(dir, "go.mod")) && isFile(filepath.Join(dir, TemplateFile)) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", fmt.Errorf("find repo root: no directory above the working directory holds go.mod and %s", TemplateFile)
		}
		dir = parent
	}
}

// TemplatePath returns the path of the repository's SAM template.
func TemplatePath() (string, error) {
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, TemplateFile), nil
}

// LoadRepo loads the repository's SAM template (see TemplatePath).
func LoadRepo() (*Template, error) {
	path, err := TemplatePath()
	if err != nil {
		return nil, err
	}
	return Load(path)
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && fi.Mode().IsRegular()
}

// References to the template's own resources only have values once the resources exist, so
// parsing turns them into these placeholder strings and Resources.Resolve replaces them.
// Strings keep typed goformation fields (such as environment variables) parseable.
const (
	refMarker    = "samtemplate:Ref:"
	getAttMarker = "samtemplate:GetAtt:"
)

// Template is a parsed SAM template.
type Template struct {
	cfn *cloudformation.Template
	// raw is the template as JSON after the same intrinsic processing, for the properties
	// goformation's types lack (such as FunctionResponseTypes on SQS events).
	raw []byte
}

// goformation registers its YAML tag handlers in a global map on every parse, so parses must
// not run concurrently.
var loadMu sync.Mutex

// Load parses the template at path. Ref and Fn::GetAtt of the template's resources become
// placeholders that Resources.Resolve turns into the provisioned names, URLs and ARNs; Ref of
// a parameter becomes its default, as a string the way CloudFormation passes it.
func Load(path string) (*Template, error) {
	loadMu.Lock()
	defer loadMu.Unlock()
	opts := &intrinsics.ProcessorOptions{
		IntrinsicHandlerOverrides: map[string]intrinsics.IntrinsicHandler{
			"Ref":        refHandler,
			"Fn::GetAtt": getAttHandler,
			"Fn::If":     ifHandler,
		},
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	raw, err := intrinsics.ProcessYAML(data, opts)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	if err := checkConditionsYAML(data); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	typed, err := withoutUnknownProperties(raw)
	if err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	// What goformation.ParseYAMLWithOptions does after the intrinsics, on the cleaned JSON.
	cfn := cloudformation.NewTemplate()
	if err := json.Unmarshal(typed, cfn); err != nil {
		return nil, fmt.Errorf("parse %s: %w", path, err)
	}
	return &Template{cfn: cfn, raw: raw}, nil
}

// typedResources are the resource types this package reads through goformation's types: the
// tables and queues it provisions, the functions whose events and environment it reads. Every
// other type (roles, log groups, the ECS service, alarms, ...) is left to SAM: goformation
// does not always parse what CloudFormation accepts (a Number parameter where an int goes,
// properties newer than its types), and nothing here needs those resources. Template.raw
// keeps them all.
var typedResources = map[string]bool{
	"AWS::DynamoDB::Table":      true,
	"AWS::SQS::Queue":           true,
	"AWS::Serverless::Function": true,
	"AWS::Serverless::Api":      true,
}

// unknownProperties are properties of typed resources that SAM takes and goformation's types
// lack; goformation refuses a resource with a property it doesn't know, so they are dropped
// before the typed parse.
var unknownProperties = map[string][]string{
	// Each function names its own log group (with a retention) in LoggingConfig.
	"AWS::Serverless::Function": {"LoggingConfig"},
}

// withoutUnknownProperties returns the processed template with only the typed resources,
// without their unknown properties.
func withoutUnknownProperties(raw []byte) ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	resources, _ := doc["Resources"].(map[string]any)
	for id, r := range resources {
		res, _ := r.(map[string]any)
		typ, _ := res["Type"].(string)
		if !typedResources[typ] {
			delete(resources, id)
			continue
		}
		props, _ := res["Properties"].(map[string]any)
		for _, name := range unknownProperties[typ] {
			delete(props, name)
		}
		if typ == "AWS::DynamoDB::Table" {
			throughputNumbers(props)
		}
	}
	// Outputs refer to any resource and are not read here.
	delete(doc, "Outputs")
	return json.Marshal(doc)
}

// throughputNumbers turns the capacity units of a table and its indexes back into numbers:
// a Ref of a Number parameter gives a string (see refHandler), where goformation's
// ProvisionedThroughput has ints.
func throughputNumbers(props map[string]any) {
	fix := func(m map[string]any) {
		pt, _ := m["ProvisionedThroughput"].(map[string]any)
		for _, k := range []string{"ReadCapacityUnits", "WriteCapacityUnits"} {
			if s, ok := pt[k].(string); ok {
				if n, err := strconv.ParseFloat(s, 64); err == nil {
					pt[k] = n
				}
			}
		}
	}
	fix(props)
	gsis, _ := props["GlobalSecondaryIndexes"].([]any)
	for _, g := range gsis {
		if g, ok := g.(map[string]any); ok {
			fix(g)
		}
	}
}

// CloudFormation returns the parsed template, e.g. for a local runner that needs the
// functions' settings. Resource references in it are placeholders for Resources.Resolve.
func (t *Template) CloudFormation() *cloudformation.Template {
	return t.cfn
}

func refHandler(name string, input, template any) any {
	if id, ok := input.(string); ok && hasResource(template, id) {
		return refMarker + id
	}
	// goformation keeps a Number parameter's default as a number, which does not fit string
	// fields such as environment variables; CloudFormation hands parameters over as strings.
	switch v := intrinsics.Ref(name, input, template).(type) {
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(v)
	default:
		return v
	}
}

// getAttHandler accepts both forms: !GetAtt Res.Attr and Fn::GetAtt: [Res, Attr].
func getAttHandler(_ string, input, template any) any {
	var id, attr string
	switch v := input.(type) {
	case string:
		id, attr, _ = strings.Cut(v, ".")
	case []any:
		if len(v) == 2 {
			id, _ = v[0].(string)
			attr, _ = v[1].(string)
		}
	}
	if id == "" || attr == "" || !hasResource(template, id) {
		return nil
	}
	return getAttMarker + id + "." + attr
}

func hasResource(template any, id string) bool {
	t, _ := template.(map[string]any)
	resources, _ := t["Resources"].(map[string]any)
	_, ok := resources[id]
	return ok
}

// tables returns the template's DynamoDB tables sorted by logical id, for a stable order.
func (t *Template) tables() ([]string, map[string]*cfnddb.Table) {
	m := t.cfn.GetAllDynamoDBTableResources()
	return slices.Sorted(maps.Keys(m)), m
}

// queues returns the template's queues, each after the queues its properties refer to (a
// dead-letter queue before the queues that redrive to it).
func (t *Template) queues() ([]string, map[string]*cfnsqs.Queue, error) {
	m := t.cfn.GetAllSQSQueueResources()
	var order []string
	done := map[string]bool{}
	for len(order) < len(m) {
		progress := false
		for _, id := range slices.Sorted(maps.Keys(m)) {
			if done[id] || !allDone(queueDeps(m[id], m), done) {
				continue
			}
			order = append(order, id)
			done[id] = true
			progress = true
		}
		if !progress {
			return nil, nil, errors.New("queues refer to each other in a cycle")
		}
	}
	return order, m, nil
}

func queueDeps(q *cfnsqs.Queue, queues map[string]*cfnsqs.Queue) []string {
	var deps []string
	for _, id := range references(q.RedrivePolicy) {
		if _, ok := queues[id]; ok {
			deps = append(deps, id)
		}
	}
	return deps
}

func allDone(ids []string, done map[string]bool) bool {
	for _, id := range ids {
		if !done[id] {
			return false
		}
	}
	return true
}

// references lists the logical ids that placeholders anywhere in v point at.
func references(v any) []string {
	var ids []string
	switch v := v.(type) {
	case string:
		if id, _, ok := parseMarker(v); ok {
			ids = append(ids, id)
		}
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(v)) {
			ids = append(ids, references(v[k])...)
		}
	case []any:
		for _, e := range v {
			ids = append(ids, references(e)...)
		}
	}
	return ids
}

// parseMarker splits a placeholder into the logical id and the attribute ("" for Ref).
func parseMarker(s string) (id, attr string, ok bool) {
	if id, ok := strings.CutPrefix(s, refMarker); ok {
		return id, "", true
	}
	if rest, ok := strings.CutPrefix(s, getAttMarker); ok {
		id, attr, _ := strings.Cut(rest, ".")
		return id, attr, true
	}
	return "", "", false
}

// Resource decodes the resource with the given logical id, as the template declares it
// (Type, Properties, ...), into out, for tests of resources this package does not type, such
// as IAM roles. Ref and GetAtt of resources are placeholders (see Load); a resource named
// inside a Fn::Sub string is lost, leaving the rest of the string.
func (t *Template) Resource(logicalID string, out any) error {
	var doc struct{ Resources map[string]json.RawMessage }
	if err := json.Unmarshal(t.raw, &doc); err != nil {
		return fmt.Errorf("read resources: %w", err)
	}
	raw, ok := doc.Resources[logicalID]
	if !ok {
		return fmt.Errorf("no resource %s in the template", logicalID)
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("decode %s: %w", logicalID, err)
	}
	return nil
}

// GetAttMarker is what Fn::GetAtt of a template resource's attribute becomes in what Resource
// returns, e.g. GetAttMarker("InstancesTable", "Arn").
func GetAttMarker(logicalID, attr string) string { return getAttMarker + logicalID + "." + attr }
