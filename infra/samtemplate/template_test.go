package samtemplate

import (
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func loadString(t *testing.T, yaml string) *Template {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	tpl, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return tpl
}

const refsTemplate = `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Days:
    Type: Number
    Default: 1209600
  Name:
    Type: String
    Default: wagate
Globals:
  Function:
    Environment:
      Variables:
        TABLE: !Ref Table
        QUEUE: !Ref Queue
        QUEUE_ARN: !GetAtt Queue.Arn
        QUEUE_NAME: !GetAtt [Queue, QueueName]
        TABLE_ARN:
          Fn::GetAtt: [Table, Arn]
        DAYS: !Ref Days
        NAME: !Ref Name
        REGION: !Ref AWS::Region
        PLAIN: plain
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Queue:
    Type: AWS::SQS::Queue
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Environment:
        Variables:
          PLAIN: own
          OWN: !Ref Table
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      ContainerDefinitions:
        - Name: c
          Environment:
            - {Name: TASK_QUEUE, Value: !Ref Queue}
            - {Name: TASK_DAYS, Value: !Ref Days}
`

// References to resources must survive parsing in typed string fields (environment variables)
// and resolve to the provisioned values; parameters resolve to their defaults as strings.
func TestLoadResolvesReferences(t *testing.T) {
	tpl := loadString(t, refsTemplate)
	r := &Resources{
		template: tpl,
		tables:   map[string]table{"Table": {name: "p-Table", arn: "arn:table"}},
		queues:   map[string]Queue{"Queue": {Name: "p-Queue", URL: "http://q", ARN: "arn:queue"}},
	}
	env, err := r.Env("Fn")
	if err != nil {
		t.Fatalf("env: %v", err)
	}
	want := map[string]string{
		"TABLE":      "p-Table",
		"QUEUE":      "http://q",
		"QUEUE_ARN":  "arn:queue",
		"QUEUE_NAME": "p-Queue",
		"TABLE_ARN":  "arn:table",
		"DAYS":       "1209600",
		"NAME":       "wagate",
		"REGION":     "us-east-1",
		"PLAIN":      "own", // the function's own value over the Globals'
		"OWN":        "p-Table",
	}
	if !maps.Equal(env, want) {
		t.Errorf("Env(Fn) = %v, want %v", env, want)
	}
	task, err := r.Env("Task")
	if err != nil {
		t.Fatalf("env: %v", err)
	}
	if want := map[string]string{"TASK_QUEUE": "http://q", "TASK_DAYS": "1209600"}; !maps.Equal(task, want) {
		t.Errorf("Env(Task) = %v, want %v", task, want)
	}
	if _, err := r.Env("Table"); err == nil {
		t.Error("Env(Table): want an error, a table has no environment")
	}
}

func TestResolveUnknownReference(t *testing.T) {
	r := &Resources{}
	for _, s := range []string{refMarker + "Function", getAttMarker + "Function.Arn"} {
		if _, err := r.Resolve(s); err == nil {
			t.Errorf("Resolve(%q) succeeded, want an error", s)
		}
	}
}

func TestQueueOrder(t *testing.T) {
	tests := []struct {
		name    string
		yaml    string
		want    []string
		wantErr string
	}{
		{
			name: "dead-letter queue first whatever the names",
			yaml: `
Resources:
  AQueue:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt ZDeadLetters.Arn, maxReceiveCount: 3}
  ZDeadLetters:
    Type: AWS::SQS::Queue
  MQueue:
    Type: AWS::SQS::Queue
`,
			want: []string{"MQueue", "ZDeadLetters", "AQueue"},
		},
		{
			name: "cycle",
			yaml: `
Resources:
  A:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt B.Arn, maxReceiveCount: 3}
  B:
    Type: AWS::SQS::Queue
    Properties:
      RedrivePolicy: {deadLetterTargetArn: !GetAtt A.Arn, maxReceiveCount: 3}
`,
			wantErr: "cycle",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := loadString(t, tt.yaml).queues()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("queues() error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("queues(): %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("queues() = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatalf("RepoRoot from the package directory: %v", err)
	}
	for _, f := range []string{"go.mod", TemplateFile} {
		if !isFile(filepath.Join(root, f)) {
			t.Errorf("RepoRoot() = %s, which has no %s", root, f)
		}
	}

	t.Chdir(t.TempDir())
	if _, err := RepoRoot(); err == nil {
		t.Error("RepoRoot outside the repository succeeded, want an error")
	}
}

// Resources this package doesn't provision or read are left to SAM, whatever goformation
// makes of them: a Number parameter where an int goes, a function property newer than
// goformation's types. The typed resources still load, and the raw template keeps it all.
func TestLoadLeavesOtherResourcesToSAM(t *testing.T) {
	tpl := loadString(t, `
Transform: AWS::Serverless-2016-10-31
Parameters:
  Days:
    Type: Number
    Default: 30
  Image:
    Type: String
    Default: ""
Conditions:
  HasImage: !Not [!Equals [!Ref Image, ""]]
Resources:
  Table:
    Type: AWS::DynamoDB::Table
    Properties:
      KeySchema: [{AttributeName: id, KeyType: HASH}]
  Logs:
    Type: AWS::Logs::LogGroup
    Properties:
      RetentionInDays: !Ref Days
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: fn/
      Handler: bootstrap
      Runtime: provided.al2023
      LoggingConfig:
        LogGroup: !Ref Logs
  Cluster:
    Type: AWS::ECS::Cluster
    Condition: HasImage
Outputs:
  LogGroup:
    Value: !Ref Logs
`)
	if _, ok := tpl.CloudFormation().GetAllDynamoDBTableResources()["Table"]; !ok {
		t.Error("table Table not loaded")
	}
	if _, ok := tpl.CloudFormation().GetAllServerlessFunctionResources()["Fn"]; !ok {
		t.Error("function Fn not loaded")
	}
	for _, want := range []string{`"LoggingConfig"`, `"AWS::Logs::LogGroup"`, `"AWS::ECS::Cluster"`} {
		if !strings.Contains(string(tpl.raw), want) {
			t.Errorf("raw template lost %s", want)
		}
	}
}

func TestScheduleSources(t *testing.T) {
	const head = `
Transform: AWS::Serverless-2016-10-31
Resources:
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      Events:
        Tick:
          Type: Schedule
          Properties:
            Schedule: `
	tests := []struct {
		expr    string
		want    time.Duration
		wantErr bool
	}{
		{"rate(5 minutes)", 5 * time.Minute, false},
		{"rate(1 minute)", time.Minute, false},
		{"rate(2 hours)", 2 * time.Hour, false},
		{"rate(1 day)", 24 * time.Hour, false},
		{"rate(1 minutes)", 0, true},
		{"rate(5 minute)", 0, true},
		{"rate(0 minutes)", 0, true},
		{"rate(5 weeks)", 0, true},
		{"cron(0/5 * * * ? *)", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			got, err := loadString(t, head+`"`+tt.expr+`"`+"\n").ScheduleSources()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("got %v, want an error", got)
				}
				return
			}
			if err != nil || len(got) != 1 || got[0] != (ScheduleSource{Function: "Fn", Every: tt.want}) {
				t.Fatalf("got %v, %v; want Fn every %v", got, err, tt.want)
			}
		})
	}
}
