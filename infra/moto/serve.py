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

moto sizes each stream record by serialising it to JSON, on every write of a table with a
stream; nothing here reads the size, so that step is skipped.

Usage: python serve.py -H 127.0.0.1 -p 5000
"""

import argparse
import signal
import sys
import threading

import copy

from moto.dynamodb import models as dynamodb_models
from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models import table as dynamodb_table
from moto.dynamodb.models.table import Table
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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-H", "--host", default="127.0.0.1")
    parser.add_argument("-p", "--port", type=int, default=5000)
    args = parser.parse_args()

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    dynamodb_models.copy = _CopyExceptTables
    DynamoDBBackend.transact_write_items = _transact_with_item_backup(
        DynamoDBBackend.transact_write_items
    )
    Table.query = _query_by_group(Table.query)
    dynamodb_table.dynamo_json_dump = lambda _record: ""  # only a stream record's SizeBytes

    moto_app = DomainDispatcherApplication(create_backend_app)
    dynamodb_lock = threading.Lock()

    def app(environ, start_response):
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
