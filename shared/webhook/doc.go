// Package webhook holds wagate's domain: the event envelope sent to customers, the delivery log
// and its states, the retry schedule, Standard Webhooks signing, destination rules and the coded
// errors the API maps to HTTP. It imports nothing from AWS; adapters live beside it.
package webhook
