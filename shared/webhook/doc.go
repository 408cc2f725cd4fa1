// Package webhook holds wagate's domain: the event envelope sent to customers, the delivery log
// and its states, the log after each attempt and its recording over a store that may have
// changed meanwhile (RecordAttempt), the retry schedule, the listing filter and pages, Standard
// Webhooks signing, destination rules and the coded errors the API maps to HTTP. It imports
// nothing from AWS; adapters live beside it.
package webhook
