// Package queue moves events through SQS: Publisher puts envelopes on the events queue, and
// EventSource feeds a Lambda-style SQS handler the way Lambda's SQS event source mapping does,
// for local runs and tests.
package queue
