// Package store keeps wagate's domain records in DynamoDB: webhook logs with their daily
// counters, and instances with the session hosts' leases on them. Counters change in the same
// transaction as the log state they count, so statistics stay exact under retries, duplicate
// deliveries and clears.
package store
