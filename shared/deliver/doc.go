// Package deliver sends queued events to customers' webhook endpoints: the SQS handler of the
// delivery Lambda, the HTTP sender with its dial-time destination checks, and the instance
// cache in front of the instances table.
package deliver
