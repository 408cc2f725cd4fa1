// Package media names, links and stores the files of messages (DESIGN.md §8): ids and bucket
// keys, the signed links the events carry, and the S3 adapter that stores files and presigns
// their URLs. Files live in MediaBucket under <instanceId>/<mediaId>: wa_… for files the
// session host stored (received, or sent from the phone), up_… for uploads for sending.
package media
