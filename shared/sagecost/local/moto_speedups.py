"""Make moto's DynamoDB transactions cost O(items touched) instead of O(table size), and its index
queries sort plain strings instead of comparing DynamoType objects.

moto 5.2.5 snapshots every table a TransactWriteItems touches with `copy.deepcopy` (once per item!)
so it can roll back on failure; with a ledger of a few thousand items each transaction takes seconds.
This keeps moto's own transaction logic (checks, conditions, cancellation reasons) and replaces only
the snapshot: the items the transaction names are copied before it runs and put back if it fails.
Behaviour seen through boto3 is unchanged; only the embedded runtime and tests use it.

Index queries and scans go through `Table.all_items`, which sorts every item of the table by its key
with DynamoType comparisons (about 30 Python calls each). Where both key attributes are strings, the
same order comes from sorting the raw strings (code-point order is UTF-8 byte order, DynamoDB's order).
And an index query looks only at the items that have the index's hash key attributes (the only items a
global secondary index holds), instead of at every item of the table: the hourly sweep's query of the
sparse `open_resources` index then costs what the index holds, not what the ledger holds.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from moto.dynamodb.models import DynamoDBBackend
from moto.dynamodb.models.table import Table

_original = DynamoDBBackend.transact_write_items
_original_all_items = Table.all_items
_original_query = Table.query
_index_keys: ContextVar[tuple[str, ...]] = ContextVar("index_keys", default=())


def _query(self: Table, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[7] if len(args) > 7 else None)  # as moto's backend passes it
    index = next((i for i in self.global_indexes if i.name == index_name), None) if index_name else None
    keys = tuple(k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH") if index else ()
    token = _index_keys.set(keys)
    try:
        return _original_query(self, *args, **kwargs)
    finally:
        _index_keys.reset(token)


def _all_items(self: Table) -> list[Any]:
    key_types = {d["AttributeName"]: d["AttributeType"] for d in self.attr}
    string_keys = key_types.get(self.hash_key_attr) == "S" and (
        self.range_key_attr is None or key_types.get(self.range_key_attr) == "S"
    )
    if not string_keys:
        return _original_all_items(self)
    items: list[Any] = []
    for hash_set in self.items.values():
        if self.range_key_attr:
            items.extend(hash_set.values())
        else:
            items.append(hash_set)
    if index_keys := _index_keys.get():
        items = [item for item in items if all(key in item.attrs for key in index_keys)]
    if self.range_key_attr:
        return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))
    return sorted(items, key=lambda item: item.hash_key.value)


def _key_of(backend: DynamoDBBackend, op_type: str, op: dict[str, Any]) -> dict[str, Any]:
    if op_type != "Put":
        return dict(op["Key"])
    table = backend.get_table(op["TableName"])
    key = {table.hash_key_attr: op["Item"][table.hash_key_attr]}
    if table.range_key_attr is not None:
        key[table.range_key_attr] = op["Item"][table.range_key_attr]
    return key


def _transact_write_items(self: DynamoDBBackend, transact_items: list[dict[str, Any]]) -> None:
    snapshot: dict[str, tuple[str, dict[str, Any], dict[str, Any] | None]] = {}
    for entry in transact_items:
        try:
            op_type, op = next(iter(entry.items()))
            key = _key_of(self, op_type, op)
            current = self.get_item(op["TableName"], key)
        except Exception:  # noqa: S112 - moto itself reports malformed operations below
            continue
        ident = json.dumps([op["TableName"], key], sort_keys=True)
        if ident not in snapshot:
            before = copy.deepcopy(current.to_json()["Attributes"]) if current else None
            snapshot[ident] = (op["TableName"], key, before)
    Table.__deepcopy__ = lambda table, memo: table  # type: ignore[attr-defined]
    try:
        _original(self, transact_items)
    except Exception:
        for table_name, key, before in snapshot.values():
            if before is None:
                self.delete_item(table_name, key)
            else:
                self.put_item(table_name, before)
        raise
    finally:
        del Table.__deepcopy__  # type: ignore[attr-defined]


@contextmanager
def fast_dynamodb_transactions() -> Iterator[None]:
    DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    Table.all_items = _all_items  # type: ignore[method-assign]
    Table.query = _query  # type: ignore[method-assign]
    try:
        yield
    finally:
        DynamoDBBackend.transact_write_items = _original  # type: ignore[method-assign]
        Table.all_items = _original_all_items  # type: ignore[method-assign]
        Table.query = _original_query  # type: ignore[method-assign]
