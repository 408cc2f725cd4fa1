// Package queue moves events through SQS: Publisher puts envelopes on the events queue, and
// Batcher gathers them into batches of up to ten.
package queue
