// Package lambdaemu emulates the AWS services that drive wagate's functions, for the local
// stack and the tests: API Gateway's REST API with proxy integrations and API keys, Lambda's
// SQS event source mapping with partial batch responses, its DynamoDB stream mapping, and
// EventBridge's rate schedules. Nothing here ships.
package lambdaemu
