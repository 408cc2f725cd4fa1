// Package dynamostore keeps whatsmeow's device store (go.mau.fi/whatsmeow/store) in one
// DynamoDB table, with the semantics of whatsmeow's sqlstore: a differential test suite runs
// the same operations against sqlstore on SQLite and against this store and compares every
// answer.
//
// # Key layout
//
// The table has only a string partition key pk and sort key sk, and no index, so every read
// is a GetItem, a BatchGetItem or a Query of one partition:
//
//	pk                          sk                                   what
//	devices                     <our JID>                            device row (keys, account, names)
//	<our JID>#identity          <their signal address>               identity key
//	<our JID>#session           <their signal address>               session
//	<our JID>#prekey            <key id, 10 digits>                  pre-key, uploaded flag
//	<our JID>#senderkey         <sender address> NUL <group>         sender key
//	<our JID>#session/senderkey <its key> NUL <chunk, 3 digits>      part of a value over 400 KB
//	<our JID>#appstatekey       <key id, hex>                        app state sync key
//	<our JID>#appstatever       <patch name>                         app state version and hash
//	<our JID>#appstatemac       <name> NUL <index MAC hex> NUL <ver> app state mutation MAC
//	<our JID>#contact           <their JID>                          contact names
//	<our JID>#chat              <chat JID>                           chat settings
//	<our JID>#msgsecret         <chat> NUL <sender> NUL <message id> message secret
//	<our JID>#privacytoken      <their JID>                          privacy token
//	<our JID>#eventbuf          <ciphertext hash, hex>               decrypted event buffer
//	lidmap#lid                  <LID user>                           its phone number (shared)
//	lidmap#pn                   <phone number user>                  its LID (shared)
//
// One partition per device and kind keeps each lookup sqlstore makes by primary key a GetItem,
// and turns its "all rows of this device whose column starts with ..." statements into a Query
// with begins_with: all sessions or identities of a phone (the address is the sort key), all
// sender keys of a sender (the sender comes first in the sort key), every version of an index
// MAC (descending, highest version first), pre-keys in id order (ids zero-padded). sqlstore's
// LIKE patterns are reproduced exactly (SQLite's `_` wildcard and ASCII case folding) by
// querying the pattern's literal prefix and matching the pattern on each item. The LID map is
// written both ways so that either direction is one GetItem without a secondary index.
// DeleteDevice queries and batch-deletes each partition of the device, as sqlstore's foreign
// keys cascade (privacy tokens and the LID map stay, as there).
//
// Pre-key ids are sqlstore's MAX(id)+1; new keys are written on condition that their id is
// free, so concurrent writers can never store two keys under one id.
//
// # Item size
//
// DynamoDB refuses items over 400 KB. A libsignal session (up to 40 archived states with
// their skipped message keys) or a sender key may legitimately grow past that, so sessions and
// sender keys too large for one item are split: a head item under their key names the chunks,
// chunk items under the key plus NUL plus the chunk number hold up to 384 KB of the value each,
// and the head and its chunks (and the deletion of the chunks of the value replaced) are
// written in one TransactWriteItems, so a value is stored, replaced or deleted whole. Chunks
// carry their write's id, which readers check, so a value replaced while being read is read
// again, never put together from two writes. Chunk items are never taken for sessions or
// sender keys of their own: reads of their keys answer nothing stored, LIKE deletes and
// migrations take them along with their head. Values beyond what one transaction holds (4 MB
// less 64 KB) are refused with an error wrapping ErrItemTooLarge. A small value replaces a
// chunked one on condition that it is not chunked (one request, as for any item); when it is,
// its chunks are deleted in the same transaction. PutManySessions reads the heads of the
// sessions it replaces first (100 to a request) for that.
//
// Every other write computes the item's size first and refuses a too large one with an error
// wrapping ErrItemTooLarge that names the item (buffered event, app state sync key, contact
// name...); nothing is truncated, and a batch with one too large item writes nothing.
//
// # Key length
//
// DynamoDB refuses a sort key over 1024 bytes and a partition key over 2048. Every write checks
// its keys first and refuses an over-long one with an error wrapping ErrKeyTooLong (a batch with
// one writes nothing), except PutMessageSecrets: message ids are chosen by the peer, so a secret
// whose key is too long is skipped with a warning and the rest of the batch is stored (losing
// one message's secret beats losing the batch). Reads and deletes of an over-long key answer
// nothing stored, as nothing can be.
//
// # Atomicity and concurrency
//
// Reads are strongly consistent. What is atomic, and what concurrent writers can do:
//
//   - A single-item write (PutSession, PutIdentity, PutSenderKey, a pre-key, a device...) is
//     atomic, and so is a session or sender key kept in chunks (see Item size).
//   - DoDecryptionTxn, where sqlstore opens an SQL transaction, runs the decryptions of a
//     device one at a time in this process and holds back the single-item writes made inside
//     (session, identity, pre-key removal, sender key, buffered plaintext), which reads inside
//     see; when fn succeeds they are written in one TransactWriteItems (several when over 100
//     items or 4 MB, each atomic), so the advanced session and the buffered plaintext are
//     stored together or not at all, and when fn fails none is written. The sessions and sender
//     keys are written on condition that they are still kept as read inside (in chunks of the
//     same write, or in one item), so a commit never leaves chunks behind; another process's
//     change to a value kept in one item is not detected (the session host's lease gives each
//     device one process). Operations over many items inside fn write what is held back first
//     (see DoDecryptionTxn).
//   - MigratePNToLID moves each address atomically: the copy to the LID address, the delete
//     of every phone number item renamed to it and their chunks are one TransactWriteItems (up
//     to 50 addresses to one, fewer for large values). A migration that failed part way leaves
//     each address moved or untouched, and running it again moves only the untouched ones, so
//     a LID session that advanced after its move is never overwritten by the stale phone
//     number one.
//   - The LID map is shared by every device and so by every host. PutLIDMapping and
//     PutManyLIDMappings read the entries a mapping touches (both directions of the LID and the
//     phone number, and the entries those point to) and write the changes in one
//     TransactWriteItems conditioned on every entry read still being what was read (up to 25
//     mappings to a transaction); when another host changed one in between, nothing is written
//     and the mappings are read and applied again (up to 10 times, then an error). So the two
//     directions stay each other's inverse however hosts race: of two hosts mapping one phone
//     number to different LIDs at once, one wins whole. A host's in-memory cache may still
//     answer a mapping another host replaced since, as sqlstore's cache in another process
//     would.
//   - Pre-keys are written on condition that their id is free (see above).
//   - Other batch operations write 25 items per BatchWriteItem and read 100 keys per
//     BatchGetItem, retrying unprocessed ones with backoff; they are not atomic, but each is
//     idempotent, so a failed call can be repeated. Where they read, merge and write back
//     (contacts) or read before writing (PutManySessions reads the heads it replaces to find
//     chunked ones), a second process writing the same device's items at that moment could
//     lose an update, or leave the chunks of the value it wrote unnamed by any head: never
//     read, and deleted with the address by a LIKE delete, a migration or DeleteDevice. The
//     session host's lease gives each device one process.
//
// # Differences from sqlstore
//
// Where SQL and DynamoDB cannot behave alike, or sqlstore's behaviour is an accident:
//
//   - GetAllDevices answers in JID order; sqlstore in insertion order.
//   - Batch writes (PutManySessions, PutAllContactNames, PutManyRedactedPhones,
//     PutManyLIDMappings, PutMessageSecrets, mutation MAC puts and deletes, DeleteDevice) are
//     not atomic; repeating a failed one completes it. PutManyLIDMappings is atomic per 25
//     mappings.
//   - MigratePNToLID is atomic per address, not as a whole (see above).
//   - PutAllContactNames and PutManyRedactedPhones read the contacts, merge and write them
//     back (a batch write cannot update some attributes), under the store's contact lock; a
//     second process writing the same device's contacts at that moment could lose an update.
//     The session host's lease gives each device one process.
//   - Values and keys DynamoDB cannot hold are refused (ErrItemTooLarge, ErrKeyTooLong) where
//     SQLite stores them: a session or sender key over 4 MB less 64 KB, any other item over
//     400 KB, a sort key over 1024 bytes. PutMessageSecrets skips a secret whose key is too long
//     and stores the others.
//   - Storing the same (name, version, index MAC) twice overwrites; sqlstore fails on its
//     primary key.
//   - DeleteOldBufferedHashes deletes this device's old events; sqlstore deletes every
//     device's. The TTL attribute expiresAt has DynamoDB delete the others'.
//   - GetMessageSecret and GetPrivacyToken, when a message or user is stored under both its
//     phone number and LID form with equal rank, prefer the form asked for; sqlstore answers
//     whichever row SQLite finds first.
//   - Empty strings cannot be DynamoDB keys: writes under an empty address, JID or app state
//     name or a nil sync key id fail (reads answer nothing stored). Key parts containing NUL
//     (session addresses, sender key senders and groups, message secret parts, app state
//     names) are refused, as NUL separates key parts and chunks.
//   - PutPrivacyTokens with no tokens does nothing; sqlstore's SQL has a syntax error.
//   - A MigratePNToLID that failed may run again in the same store; sqlstore's never does.
package dynamostore
