"""moto's server, with DynamoDB requests applied one at a time and cheap transactions.

moto's threaded server applies concurrent DynamoDB writes to the same item without a lock, so
two simultaneous `ADD counter :1` updates can lose one. Real DynamoDB (and DynamoDB Local,
behind LocalStack) applies every write to an item atomically; wagate's exact counters rely on
that. Serialising DynamoDB requests gives the emulator the same guarantee, while SQS long polls
still run side by side.

moto also backs up every table a TransactWriteItems touches with a deep copy, once per item
of the transaction, so a transaction costs time in proportion to the table's size and loading
a large table is quadratic. Here a transaction instead remembers only the items it touches
and puts those back when it is cancelled, which is all the backup is for.

moto also answers a query on a global secondary index by sorting the whole table and testing
every item, so a listing that merges many index partitions costs the table's size many times
over. Here the items are grouped by the index key's value once per state of the tables (any
write starts a new one; requests are serialised), and a query looks only at its group.

moto's SQS queue deletes a message by building a new list of the queue's messages and putting
it in place of the old one, without the queue's lock; a message sent (appended to the old list,
under the lock) in between is lost, and of two deletes at once the second can bring back what
the first deleted. Real SQS loses no message it accepted. Here a delete holds the queue's lock.

moto sizes each stream record by serialising it to JSON, on every write of a table with a
stream; nothing here reads the size, so that step is skipped.

moto does not check the signatures of presigned S3 URLs, so an upload URL signed for one
Content-Length would take a body of any size. Here a request with a presigned signature
(X-Amz-Signature in its query) is checked as S3 checks it: SigV4 over the method, path, query
and signed headers with the secret key of its access key (WAGATE_EMULATOR_SECRETS, "id=secret"
pairs; the tests' and the local stack's test=test by default), and refused with 403
SignatureDoesNotMatch, or AccessDenied once it has expired.

Usage: python serve.py -H 127.0.0.1 -p 5000
"""

import argparse
import datetime
import hashlib
import hmac
import os
import signal
from urllib.parse import quote, unquote
import sys
import threading

import copy

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models.table import Table
from moto.sqs import models as sqs_models
from moto.moto_server.werkzeug_app import (
    DomainDispatcherApplication,
    MotoRequestHandler,
    create_backend_app,
)
from werkzeug.serving import run_simple


class _CopyExceptTables:
    """Stands in for the copy module inside moto's DynamoDB backend: tables are not copied."""

    @staticmethod
    def deepcopy(value, memo=None):
        if isinstance(value, Table):
            return value
        return copy.deepcopy(value, memo)


def _item_key(backend, op_type, op):
    if op_type != "Put":
        return op["Key"]
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _transact_with_item_backup(original):
    def transact_write_items(self, transact_items):
        backup = []
        for entry in transact_items:
            op_type, op = next(iter(entry.items()))
            try:
                key = _item_key(self, op_type, op)
                current = self.get_item(op["TableName"], key)
            except Exception:
                continue  # moto reports the bad item itself
            before = copy.deepcopy(current.to_json()["Attributes"]) if current else None
            backup.append((op["TableName"], key, before))
        try:
            return original(self, transact_items)
        except Exception:
            for table_name, key, before in reversed(backup):
                if before is None:
                    if self.get_item(table_name, key) is not None:
                        self.delete_item(table_name, key)
                else:
                    self.put_item(table_name, before)
            raise

    return transact_write_items


# Bumped by every DynamoDB request that may write: cached index groups of an older state are
# rebuilt. Guarded by the DynamoDB lock in main.
_state = {"generation": 0}
_groups: dict = {}

_WRITES = ("PutItem", "UpdateItem", "DeleteItem", "BatchWriteItem", "TransactWriteItems",
           "CreateTable", "DeleteTable", "UpdateTable", "RestoreTableFromBackup")


def _value_key(value):
    return (value.type, repr(value.value))


def _query_by_group(original):
    def query(self, *args, **kwargs):
        index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)
        conditions = kwargs.get("hash_key_conditions") or []
        if not index_name or len(conditions) != 1:
            return original(self, *args, **kwargs)
        attr, value = conditions[0]
        cache_key = (id(self), attr)
        generation, groups = _groups.get(cache_key, (-1, None))
        if generation != _state["generation"]:
            groups = {}
            for item in Table.all_items(self):
                v = item.attrs.get(attr)
                if v is not None:
                    groups.setdefault(_value_key(v), []).append(item)
            _groups[cache_key] = (_state["generation"], groups)
        candidates = groups.get(_value_key(value), [])
        self.all_items = lambda: list(candidates)
        try:
            return original(self, *args, **kwargs)
        finally:
            del self.all_items

    return query


def _delete_under_lock(original):
    def delete_message(self, receipt_handle):
        with self._messages_lock:
            return original(self, receipt_handle)

    return delete_message


def patch_moto() -> None:
    """Applies the changes to moto's models this module's docstring describes."""
    dynamodb_models.copy = _CopyExceptTables
    DynamoDBBackend.transact_write_items = _transact_with_item_backup(
        DynamoDBBackend.transact_write_items
    )
    Table.query = _query_by_group(Table.query)
    dynamodb_table.dynamo_json_dump = lambda _record: ""  # only a stream record's SizeBytes
    sqs_models.Queue.delete_message = _delete_under_lock(sqs_models.Queue.delete_message)


def _secrets():
    pairs = os.environ.get("WAGATE_EMULATOR_SECRETS", "test=test")
    return dict(p.split("=", 1) for p in pairs.split(",") if "=" in p)


def _presign_refusal(environ):
    """None when the request carries no presigned signature or a valid one; else (code, message)."""
    raw = environ.get("QUERY_STRING", "")
    if "X-Amz-Signature=" not in raw:
        return None
    params = []
    for part in raw.split("&"):
        if not part:
            continue
        k, _, v = part.partition("=")
        params.append((unquote(k), unquote(v.replace("+", "%20"))))
    q = dict(params)
    try:
        cred = q["X-Amz-Credential"].split("/")
        access_key, date, region, service = cred[0], cred[1], cred[2], cred[3]
        amz_date = q["X-Amz-Date"]
        expires = int(q["X-Amz-Expires"])
        signed = q["X-Amz-SignedHeaders"].split(";")
        signature = q["X-Amz-Signature"]
    except (KeyError, IndexError, ValueError):
        return ("AuthorizationQueryParametersError", "malformed presigned URL")
    secret = _secrets().get(access_key)
    if secret is None:
        return ("InvalidAccessKeyId", "unknown access key " + access_key)
    at = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    if datetime.datetime.now(datetime.timezone.utc) > at + datetime.timedelta(seconds=expires):
        return ("AccessDenied", "Request has expired")
    canonical_query = "&".join(
        quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~")
        for k, v in sorted(p for p in params if p[0] != "X-Amz-Signature")
    )
    headers = []
    for name in signed:
        if name == "host":
            value = environ.get("HTTP_HOST", "")
        elif name == "content-length":
            value = environ.get("CONTENT_LENGTH", "")
        elif name == "content-type":
            value = environ.get("CONTENT_TYPE", "")
        else:
            value = environ.get("HTTP_" + name.upper().replace("-", "_"), "")
        headers.append(name + ":" + " ".join(value.strip().split()) + "\n")
    path = environ.get("RAW_URI", environ.get("REQUEST_URI", "")).split("?", 1)[0] or quote(environ.get("PATH_INFO", ""))
    canonical = "\n".join([
        environ["REQUEST_METHOD"], path, canonical_query, "".join(headers), ";".join(signed), "UNSIGNED-PAYLOAD",
    ])
    scope = "/".join([date, region, service, "aws4_request"])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope, hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in (date, region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    want = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(want, signature):
        return ("SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided.")
    return None


def _s3_error(start_response, code, message):
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code><Message>%s</Message></Error>' % (code, message)
    ).encode()
    start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
    return [body]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    patch_moto()
    moto_app = DomainDispatcherApplication(create_backend_app)
    dynamodb_lock = threading.Lock()

    def app(environ, start_response):
        refusal = _presign_refusal(environ)
        if refusal is not None:
            return _s3_error(start_response, *refusal)
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            with dynamodb_lock:
                if target.split(".")[-1] in _WRITES:
                    _state["generation"] += 1
                # Build the whole response inside the lock: the write happens while it is made.
                return list(moto_app(environ, start_response))
        return moto_app(environ, start_response)

    run_simple(
        args.host,
        args.port,
        app,
        threaded=True,
        request_handler=MotoRequestHandler,
    )


if __name__ == "__main__":
    main()
