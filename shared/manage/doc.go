// Package manage is the management API: the webhook routes (test, logs, retry, recover,
// stats, clear), the instance routes, and the jobs that finish work too large for one
// request. Handlers are apigw routes; each Lambda registers the routes of its concern.
package manage
