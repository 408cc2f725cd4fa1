// Package sendcheck holds the tests and benchmarks of sending as a whole: messages accepted
// through the messages API, session hosts with their leases and senders, the outbox on the
// emulator, and the simulated WhatsApp network in place of WhatsApp. It has no code of its own.
package sendcheck
