// Package deliverycheck holds the tests of delivery as a whole: events on the template's
// events queue, the delivery function driven from it as Lambda's event source mapping does,
// real HTTP receivers, the webhook API's manual retries and clears, and the counting function
// over the log table's stream, all on the emulator. It has no code of its own.
package deliverycheck
