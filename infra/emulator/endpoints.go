package emulator

import "os"

// ServiceEndpointEnvs are the SDK's own endpoint settings for each service wagate's local
// stack and tests use (DynamoDB, its streams, SQS, S3). A service's setting wins over
// AWS_ENDPOINT_URL, so a user may point one service at LocalStack and another elsewhere.
var ServiceEndpointEnvs = []string{"AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_DYNAMODB_STREAMS", "AWS_ENDPOINT_URL_SQS", "AWS_ENDPOINT_URL_S3"}

// ServiceEndpointsSet reports whether every service has its own endpoint in the
// environment: then no emulator is needed.
func ServiceEndpointsSet() bool {
	for _, env := range ServiceEndpointEnvs {
		if os.Getenv(env) == "" {
			return false
		}
	}
	return true
}
