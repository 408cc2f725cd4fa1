// Package dynamo holds what wagate's DynamoDB adapters share: the gateway's stores
// (shared/store) and the session host's device store (session-host/dynamostore). It declares
// the part of the client API they use, reads items by key in batches (asking again, with
// backoff, for the keys DynamoDB leaves unprocessed), and tells apart the errors callers act
// on: a write whose condition failed, and a transaction cancelled because another request was
// changing one of its items.
//
// The stores build their update and condition expressions where they write them, with the
// SDK's feature/dynamodb/expression.
package dynamo
