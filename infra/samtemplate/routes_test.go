package samtemplate

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRoutesAndSQSSourcesFromATemplate(t *testing.T) {
	path := filepath.Join(t.TempDir(), "template.yaml")
	const tpl = `AWSTemplateFormatVersion: "2010-09-09"
Transform: AWS::Serverless-2016-10-31
Resources:
  Q:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: w/
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        FromQ:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
            BatchSize: 3
            FunctionResponseTypes:
              - ReportBatchItemFailures
  Api:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: a/
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        Get:
          Type: Api
          Properties:
            Path: /things/{id}
            Method: get
            Auth:
              ApiKeyRequired: true
        Post:
          Type: Api
          Properties:
            Path: /things
            Method: post
`
	if err := os.WriteFile(path, []byte(tpl), 0o600); err != nil {
		t.Fatal(err)
	}
	loaded, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	routes, err := loaded.APIRoutes()
	if err != nil {
		t.Fatal(err)
	}
	want := []APIRoute{
		{Function: "Api", Event: "Post", Method: "POST", Path: "/things"},
		{Function: "Api", Event: "Get", Method: "GET", Path: "/things/{id}", APIKeyRequired: true},
	}
	if len(routes) != len(want) || routes[0] != want[0] || routes[1] != want[1] {
		t.Fatalf("routes %+v", routes)
	}
	sources, err := loaded.SQSSources()
	if err != nil {
		t.Fatal(err)
	}
	if len(sources) != 1 || sources[0] != (SQSSource{Function: "Worker", Queue: "Q", BatchSize: 3, MaxConcurrency: 5}) {
		t.Fatalf("sources %+v", sources)
	}
}

func TestSQSSourceMaxConcurrency(t *testing.T) {
	tests := []struct {
		name    string
		scaling string // the event's ScalingConfig lines
		want    int
		wantErr bool
	}{
		{"absent: Lambda's first five", "", 5, false},
		{"a number", "ScalingConfig: {MaximumConcurrency: 7}", 7, false},
		{"a parameter's default", "ScalingConfig: {MaximumConcurrency: !Ref Conc}", 12, false},
		{"Lambda's minimum", "ScalingConfig: {MaximumConcurrency: 2}", 2, false},
		{"below the minimum", "ScalingConfig: {MaximumConcurrency: 1}", 0, true},
		{"above the maximum", "ScalingConfig: {MaximumConcurrency: 1001}", 0, true},
		{"not a number", "ScalingConfig: {MaximumConcurrency: many}", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "template.yaml")
			tpl := `Transform: AWS::Serverless-2016-10-31
Parameters:
  Conc:
    Type: Number
    Default: 12
Resources:
  Q:
    Type: AWS::SQS::Queue
  Worker:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: w/
      Handler: bootstrap
      Runtime: provided.al2023
      Events:
        FromQ:
          Type: SQS
          Properties:
            Queue: !GetAtt Q.Arn
            ` + tt.scaling + "\n"
			if err := os.WriteFile(path, []byte(tpl), 0o600); err != nil {
				t.Fatal(err)
			}
			loaded, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			sources, err := loaded.SQSSources()
			if tt.wantErr {
				if err == nil {
					t.Fatalf("no error; sources %+v", sources)
				}
				return
			}
			if err != nil || len(sources) != 1 || sources[0].MaxConcurrency != tt.want {
				t.Fatalf("sources %+v, err %v; want MaxConcurrency %d", sources, err, tt.want)
			}
		})
	}
}
