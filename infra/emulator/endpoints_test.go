package emulator

import "testing"

func TestServiceEndpointsSet(t *testing.T) {
	tests := []struct {
		name string
		set  []string
		want bool
	}{
		{"none", nil, false},
		{"DynamoDB and SQS, not the streams", []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SQS"}, false},
		{"every service", ServiceEndpointEnvs, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, env := range ServiceEndpointEnvs {
				t.Setenv(env, "")
			}
			for _, env := range tt.set {
				t.Setenv(env, "http://127.0.0.1:4566")
			}
			if got := ServiceEndpointsSet(); got != tt.want {
				t.Fatalf("ServiceEndpointsSet() = %v, want %v", got, tt.want)
			}
		})
	}
}
