"""The ledger: one DynamoDB table holding usage records, month aggregates, timelines and rejections.

Item layout (pk / sk):

| item | pk | sk | indexes |
|---|---|---|---|
| usage record | `RES#<arn>` | `USAGE#<record id>` | by_month: `MONTH#<YYYY-MM>` / record id |
| timeline of an endpoint or notebook | `RES#<arn>` | `STATE` | open_resources while it bills |
| endpoint config (instance types) | `RES#<config arn>` | `CONFIG` | |
| month aggregate | `AGG#<YYYY-MM>` | `<dimension>#<value>` | |
| rejected event | `REJECTED#<YYYY-MM-DD>` | `<time>#<digest>` | (expires after 30 days) |

Keys hold what users and events spell (tag values, ARNs), so every key built from them goes through
`bounded_key`: one that would pass DynamoDB's limits (partition keys 2,048 bytes, sort keys 1,024, in
tables and indexes alike) is shortened to its start and a SHA-256 of the whole, and the item keeps the full
value in an attribute that readers use instead of the key.

Usage records and the aggregates they move are written in one TransactWriteItems, so a duplicate (its
conditional put fails) can never double count, and a crash can never leave half a write.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from enum import Enum
from typing import TYPE_CHECKING, Any, cast

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from sagecost.domain.aggregates import AggregateDelta, merge_deltas
from sagecost.domain.periods import next_month_start
from sagecost.domain.timeline import TimelineChange
from sagecost.models.ledger import Dimension, UsageRecord, month_of, split_key
from sagecost.models.state import EndpointConfigSnapshot, ResourceTimeline

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_dynamodb.type_defs import TransactWriteItemTypeDef

TRANSACTION_LIMIT = 100
REJECTION_RETENTION = timedelta(days=30)
MAX_RAW_BYTES = 64 * 1024


PARTITION_KEY_BYTES = 2048
SORT_KEY_BYTES = 1024
"""DynamoDB's longest partition and sort key values (UTF-8 bytes), for a table's keys and its indexes'."""


def kept_raw(raw: str) -> str:
    """What the ledger keeps of a rejected message: its first 64 KB."""
    return raw.encode()[:MAX_RAW_BYTES].decode(errors="replace")


_DIGEST_MARK = "#sha256:"
_DIGESTED = re.compile(r"#sha256:[0-9a-f]{64}\Z")

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


class ConcurrentUpdate(Exception):
    """Another writer changed the timeline first; reload and recompute."""


def _plain(value: Any) -> Any:
    """Python values -> what TypeSerializer takes (ISO strings for times, lists for tuples)."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _item(attributes: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _serializer.serialize(_plain(v)) for k, v in attributes.items()}


def _python(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: _deserializer.deserialize(v) for k, v in item.items()}


def bounded_key(key: str, limit: int) -> str:
    """`key` as it is when it fits in `limit` UTF-8 bytes; otherwise as much of its start as leaves room for
    `#sha256:` and the SHA-256 of the whole key (64 hex digits), which fits exactly.

    A key kept as it is never ends like a digested one (such a key is digested too), so the two kinds never
    meet, and two digested keys are equal only when the keys' SHA-256 digests are. Every key that fitted
    before keys were bounded is kept as it is: items already written keep their keys."""
    encoded = key.encode()
    if len(encoded) <= limit and not _DIGESTED.search(key):
        return key
    digest = hashlib.sha256(encoded).hexdigest()
    room = limit - len(_DIGEST_MARK) - len(digest)
    start = encoded[:room].decode(errors="ignore")  # a character cut in two is left out
    return f"{start}{_DIGEST_MARK}{digest}"


def resource_pk(arn: str) -> str:
    return bounded_key(f"RES#{arn}", PARTITION_KEY_BYTES)


def usage_sk(record_id: str) -> str:
    return bounded_key(f"USAGE#{record_id}", SORT_KEY_BYTES)


def action_sk(action: str) -> str:
    return bounded_key(f"ACTION#{action}", SORT_KEY_BYTES)


def aggregate_sk(dimension: Dimension, value: str) -> str:
    return bounded_key(f"{dimension.value}#{value}", SORT_KEY_BYTES)


def alert_sk(key: str) -> str:
    return bounded_key(key, SORT_KEY_BYTES)


def record_key(record_id: str, arn: str) -> dict[str, Any]:
    return _item({"pk": resource_pk(arn), "sk": usage_sk(record_id)})


def record_item(record: UsageRecord) -> dict[str, Any]:
    """A usage record's item: every field of the record in attributes, whatever its keys had to shorten."""
    attributes = record.model_dump(mode="python")
    attributes.update(
        pk=resource_pk(record.resource_arn),
        sk=usage_sk(record.record_id),
        gsi1pk=f"MONTH#{record.month}",
        gsi1sk=bounded_key(record.record_id, SORT_KEY_BYTES),
        item_type="usage",
        unpriced=record.unpriced,
    )
    return _item(attributes)


def action_item(arn: str, action: str, at: datetime, details: Mapping[str, Any]) -> dict[str, Any]:
    """An `ACTION#<action>` item of a resource, listed per month in the by_month index (`ACTIONS#<month>`)."""
    return _item(
        {
            **details,
            "pk": resource_pk(arn),
            "sk": action_sk(action),
            "gsi1pk": f"ACTIONS#{at.year:04d}-{at.month:02d}",
            "gsi1sk": bounded_key(f"{at.isoformat()}#{arn}#{action}", SORT_KEY_BYTES),
            "item_type": "action",
            "action": action,
            "resource_arn": arn,
            "at": at,
        }
    )


def record_from_item(item: Mapping[str, Any]) -> UsageRecord:
    values = _python(item)
    fields = {k: v for k, v in values.items() if k in UsageRecord.model_fields}
    return UsageRecord.model_validate(fields)


_AGGREGATE_COUNTERS = (
    ("cost", "cost"),
    ("records", "records"),
    ("unpriced_records", "unpriced_records"),
    ("unpriced_instance_hours", "unpriced_instance_hours"),
    ("quantity", "quantity"),
    ("job_cost", "job_cost"),
)


def aggregate_update(table: str, delta: AggregateDelta) -> dict[str, Any]:
    """`ADD` the non-zero parts of a delta to `AGG#<month>` / `<dimension>#<value>` (created on first use).

    Month, dimension and value live in the key only, so the update stays as short as DynamoDB allows, unless
    the key had to be shortened (`bounded_key`): then the update also sets the full `value`.
    """
    key = delta.key
    terms = [(attribute, getattr(delta, field)) for attribute, field in _AGGREGATE_COUNTERS]
    changed = [(attribute, value) for attribute, value in terms if value] or terms[:1]
    sort_key = aggregate_sk(key.dimension, key.value)
    update: dict[str, Any] = {
        "TableName": table,
        "Key": _item({"pk": f"AGG#{key.month}", "sk": sort_key}),
        "UpdateExpression": "ADD " + ", ".join(f"{attribute} :{attribute}" for attribute, _ in changed),
        "ExpressionAttributeValues": _item({f":{attribute}": value for attribute, value in changed}),
    }
    if sort_key != f"{key.dimension.value}#{key.value}":
        update["UpdateExpression"] = "SET #value = :value " + update["UpdateExpression"]
        update["ExpressionAttributeNames"] = {"#value": "value"}
        update["ExpressionAttributeValues"][":value"] = {"S": key.value}
    return update


@dataclass(frozen=True)
class Aggregate:
    """A month's metered cost for one value of one dimension."""

    month: str
    dimension: Dimension
    value: str
    cost: Decimal
    records: int
    unpriced_records: int
    unpriced_instance_hours: Decimal
    quantity: Decimal = Decimal(0)
    job_cost: Decimal = Decimal(0)


def aggregate_from_item(month: str, item: Mapping[str, Any]) -> Aggregate:
    """An `AGG#<month>` item (plain Python values) as an Aggregate; counters absent from it are 0. The value
    is the item's `value` attribute when its key was shortened, the rest of its key otherwise."""
    dimension, _, value_in_key = str(item["sk"]).partition("#")
    return Aggregate(
        month=month,
        dimension=Dimension(dimension),
        value=str(item.get("value", value_in_key)),
        cost=item.get("cost", Decimal(0)),
        records=int(item.get("records", 0)),
        unpriced_records=int(item.get("unpriced_records", 0)),
        unpriced_instance_hours=item.get("unpriced_instance_hours", Decimal(0)),
        quantity=item.get("quantity", Decimal(0)),
        job_cost=item.get("job_cost", Decimal(0)),
    )


def _is_condition_failure(error: ClientError) -> bool:
    reasons = error.response.get("CancellationReasons", [])
    return any(reason.get("Code") == "ConditionalCheckFailed" for reason in reasons)


class DynamoLedger:
    """Reads and writes the ledger table. Every write that moves money is one transaction."""

    def __init__(self, client: DynamoDBClient, table_name: str) -> None:
        self.client = client
        self.table = table_name

    # --- usage of jobs -------------------------------------------------------------------------

    def put_job_records(self, records: Sequence[UsageRecord], deltas: Sequence[AggregateDelta]) -> bool:
        """Write a finished job's records and aggregates at once; False if they were already written."""
        actions: list[TransactWriteItemTypeDef] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": record_item(record),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            }
            for record in records
        ]
        actions += [{"Update": aggregate_update(self.table, delta)} for delta in deltas]  # type: ignore[typeddict-item]
        if len(actions) > TRANSACTION_LIMIT:
            raise ValueError(f"a job produced {len(actions)} writes, more than one transaction holds")
        try:
            self.client.transact_write_items(TransactItems=actions)
        except self.client.exceptions.TransactionCanceledException as error:
            if _is_condition_failure(error):
                return False
            raise
        return True

    def resource_records(self, arn: str) -> list[UsageRecord]:
        """Every usage record of one resource (one Query on its partition)."""
        paginator = self.client.get_paginator("query")
        return [
            record_from_item(item)
            for page in paginator.paginate(
                TableName=self.table,
                KeyConditionExpression="pk = :pk AND begins_with(sk, :usage)",
                ExpressionAttributeValues={":pk": {"S": resource_pk(arn)}, ":usage": {"S": "USAGE#"}},
            )
            for item in page["Items"]
        ]

    def replace_records(self, records: Sequence[UsageRecord], deltas: Sequence[AggregateDelta]) -> None:
        """Rewrite existing records (same ids) and move the aggregates by `deltas`, in one transaction."""
        actions: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self.table,
                    "Item": record_item(r),
                    "ConditionExpression": "attribute_exists(pk)",
                }
            }
            for r in records
        ]
        actions += [{"Update": aggregate_update(self.table, d)} for d in deltas]
        for start in range(0, len(actions), TRANSACTION_LIMIT):
            self.client.transact_write_items(TransactItems=actions[start : start + TRANSACTION_LIMIT])  # type: ignore[arg-type]

    def reprice(
        self,
        changes: Sequence[tuple[UsageRecord, UsageRecord]],
        deltas: Sequence[AggregateDelta],
        timeline: tuple[ResourceTimeline, int] | None = None,
    ) -> None:
        """Rewrite records at a new rate and move the aggregates by `deltas`, in one transaction. Each record
        is written only if it still holds its old cost, and `timeline` (the resource's timeline with its
        cached summaries updated, and the version it replaces) only if no sweep moved it meanwhile: a race
        raises ConcurrentUpdate and writes nothing."""
        actions: list[dict[str, Any]] = []
        for before, after in changes:
            put: dict[str, Any] = {
                "TableName": self.table,
                "Item": record_item(after),
                "ExpressionAttributeNames": {"#cost": "cost"},
            }
            if before.cost is None:
                put["ConditionExpression"] = "attribute_type(#cost, :null)"
                put["ExpressionAttributeValues"] = {":null": {"S": "NULL"}}
            else:
                put["ConditionExpression"] = "#cost = :old"
                put["ExpressionAttributeValues"] = _item({":old": before.cost})
            actions.append({"Put": put})
        if timeline is not None:
            actions.append({"Put": self._timeline_put(*timeline)})
        actions += [{"Update": aggregate_update(self.table, d)} for d in deltas]
        if len(actions) > TRANSACTION_LIMIT:
            raise ValueError(f"{len(actions)} writes do not fit one transaction")
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except self.client.exceptions.TransactionCanceledException as error:
            if _is_condition_failure(error):
                raise ConcurrentUpdate(", ".join(sorted({b.resource_arn for b, _ in changes}))) from error
            raise

    # --- timelines of endpoints and notebooks -------------------------------------------------

    def load_timeline(
        self, arn: str, *, config_arn: str | None = None
    ) -> tuple[ResourceTimeline | None, EndpointConfigSnapshot | None]:
        """The resource's timeline and (for endpoints) its config, in one BatchGetItem."""
        keys = [{"pk": resource_pk(arn), "sk": "STATE"}]
        if config_arn:
            keys.append({"pk": resource_pk(config_arn), "sk": "CONFIG"})
        timeline: ResourceTimeline | None = None
        config: EndpointConfigSnapshot | None = None
        for item in self._batch_get(keys, consistent=True):
            if item["sk"] == "STATE":
                timeline = ResourceTimeline.model_validate_json(item["doc"])
            else:
                config = EndpointConfigSnapshot.model_validate_json(item["doc"])
        return timeline, config

    def load_timeline_and_configs(
        self, arn: str, config_arns: Sequence[str]
    ) -> tuple[ResourceTimeline | None, dict[str, EndpointConfigSnapshot]]:
        """The resource's timeline and the cached endpoint configs of these ARNs (absent ones left out), in
        one BatchGetItem: for an event that names two configs (a blue/green deployment's old and new)."""
        by_key = {resource_pk(config): config for config in config_arns}
        keys = [{"pk": resource_pk(arn), "sk": "STATE"}, *({"pk": pk, "sk": "CONFIG"} for pk in by_key)]
        timeline: ResourceTimeline | None = None
        configs: dict[str, EndpointConfigSnapshot] = {}
        for item in self._batch_get(keys, consistent=True):
            if item["sk"] == "STATE":
                timeline = ResourceTimeline.model_validate_json(item["doc"])
            else:
                configs[by_key[item["pk"]]] = EndpointConfigSnapshot.model_validate_json(item["doc"])
        return timeline, configs

    def _batch_get(self, keys: Sequence[Mapping[str, str]], *, consistent: bool) -> list[dict[str, Any]]:
        """The items of these keys (absent ones left out), in BatchGetItem requests of 100 keys, retrying
        what DynamoDB leaves unprocessed."""
        found: list[dict[str, Any]] = []
        for start in range(0, len(keys), 100):
            chunk = [_item(key) for key in keys[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": chunk, "ConsistentRead": consistent}}
            while request:
                response = self.client.batch_get_item(RequestItems=request)
                found += [_python(raw) for raw in response["Responses"].get(self.table, [])]
                request = dict(response.get("UnprocessedKeys") or {})
        return found

    def _timeline_put(self, timeline: ResourceTimeline, expected_version: int) -> dict[str, Any]:
        attributes: dict[str, Any] = {
            "pk": resource_pk(timeline.resource.arn),
            "sk": "STATE",
            "item_type": "timeline",
            "kind": timeline.resource.kind.value,
            "version": timeline.version,
            "doc": timeline.model_dump_json(),
        }
        # inference components (issue 12): a component's pointer with changes its endpoint has not applied
        # yet is listed with the open resources, so the hourly sweep finds it without another read
        if timeline.is_billing or timeline.pending_on_host:
            attributes["open_pk"] = "OPEN"
            attributes["open_sk"] = bounded_key(
                f"{timeline.resource.kind.value}#{timeline.resource.arn}", SORT_KEY_BYTES
            )
        put: dict[str, Any] = {"TableName": self.table, "Item": _item(attributes)}
        if expected_version == 0:
            put["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            put["ConditionExpression"] = "version = :expected"
            put["ExpressionAttributeValues"] = _item({":expected": expected_version})
        return put

    def batch_actions(
        self, changes: Sequence[tuple[TimelineChange, int, EndpointConfigSnapshot | None]]
    ) -> list[dict[str, Any]]:
        """The transaction items of timeline changes (one aggregate update per key, however many changes)."""
        actions: list[dict[str, Any]] = []
        for change, expected_version, config in changes:
            timeline = change.timeline
            actions.append({"Put": self._timeline_put(timeline, expected_version)})
            actions += [{"Put": {"TableName": self.table, "Item": record_item(r)}} for r in change.upserts]
            # inference components (issue 12): an endpoint timeline's records may belong to its components
            owners = {
                rid: split_key(summary.resource_line)[0]
                for rid, summary in zip(change.delete_ids, change.deletes, strict=False)
                if summary.resource_line
            }
            actions += [
                {
                    "Delete": {
                        "TableName": self.table,
                        "Key": record_key(rid, owners.get(rid, timeline.resource.arn)),
                    }
                }
                for rid in change.delete_ids
            ]
            if config is not None:
                actions.append({"Put": {"TableName": self.table, "Item": self._config_item(config)}})
        merged = merge_deltas(delta for change, _, _ in changes for delta in change.aggregate_deltas)
        actions += [{"Update": aggregate_update(self.table, d)} for d in merged]
        return actions

    def commit_many(
        self, changes: Sequence[tuple[TimelineChange, int, EndpointConfigSnapshot | None]]
    ) -> None:
        """Write timeline changes in one transaction: all of them, or (ConcurrentUpdate) none."""
        self._transact(self.batch_actions(changes), [change.timeline for change, _, _ in changes])

    def _transact(self, actions: list[dict[str, Any]], timelines: Sequence[ResourceTimeline]) -> None:
        if len(actions) > TRANSACTION_LIMIT:
            raise ValueError(f"{len(actions)} writes do not fit one transaction; meter in smaller steps")
        try:
            self.client.transact_write_items(TransactItems=actions)  # type: ignore[arg-type]
        except self.client.exceptions.TransactionCanceledException as error:
            if _is_condition_failure(error):
                raise ConcurrentUpdate(", ".join(t.resource.arn for t in timelines)) from error
            raise

    def commit(
        self,
        change: TimelineChange,
        expected_version: int,
        *,
        config: EndpointConfigSnapshot | None = None,
        also: Sequence[tuple[ResourceTimeline, int]] = (),
    ) -> None:
        """Write a timeline change: its records, deletions, aggregate deltas and the new timeline.

        `also` (inference components, issue 12): other timelines put in the same transaction, each as
        (timeline, expected version), stored at the next version and conditional on the expected one."""
        if not also:
            self.commit_many([(change, expected_version, config)])
            return
        puts = [t.model_copy(update={"version": expected + 1}) for t, expected in also]
        actions = self.batch_actions([(change, expected_version, config)])
        actions += [
            {"Put": self._timeline_put(t, expected)} for t, (_, expected) in zip(puts, also, strict=True)
        ]
        self._transact(actions, [change.timeline, *puts])

    def load_timelines(self, arns: Sequence[str], *, consistent: bool = False) -> dict[str, ResourceTimeline]:
        """Several resources' timelines by ARN, in BatchGetItem requests of 100 (absent ones are left out);
        `consistent` for a read that a conditional write follows (issue 12)."""
        keys = [{"pk": resource_pk(arn), "sk": "STATE"} for arn in sorted(set(arns))]
        timelines = [
            ResourceTimeline.model_validate_json(item["doc"])
            for item in self._batch_get(keys, consistent=consistent)
        ]
        return {timeline.resource.arn: timeline for timeline in timelines}

    def open_timelines(self) -> Iterator[ResourceTimeline]:
        """Every timeline that still bills, from the sparse `open_resources` index."""
        paginator = self.client.get_paginator("query")
        pages = paginator.paginate(
            TableName=self.table,
            IndexName="open_resources",
            KeyConditionExpression="open_pk = :open",
            ExpressionAttributeValues={":open": {"S": "OPEN"}},
        )
        for page in pages:
            for raw in page["Items"]:
                yield ResourceTimeline.model_validate_json(_python(raw)["doc"])

    # --- endpoint configs ---------------------------------------------------------------------

    def _config_item(self, config: EndpointConfigSnapshot) -> dict[str, Any]:
        return _item(
            {
                "pk": resource_pk(config.arn),
                "sk": "CONFIG",
                "item_type": "endpoint_config",
                "doc": config.model_dump_json(),
            }
        )

    def put_endpoint_config(self, config: EndpointConfigSnapshot) -> None:
        self.client.put_item(TableName=self.table, Item=self._config_item(config))

    # --- tag policy actions ---------------------------------------------------------------------

    def record_action(self, arn: str, action: str, at: datetime, details: Mapping[str, Any]) -> bool:
        """Record what the tag policy did to a resource, once per (resource, action): False if already done.

        Listed per month in the by_month index under `ACTIONS#<YYYY-MM>`.
        """
        try:
            self.client.put_item(
                TableName=self.table,
                Item=action_item(arn, action, at, details),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    # --- budgets ------------------------------------------------------------------------------------

    def claim_alert(
        self,
        month: str,
        key: str,
        at: datetime,
        details: Mapping[str, Any],
        lease_until: datetime,
        holder: str | None = None,
    ) -> str | None:
        """Claim an alert before sending it, once per (budget, kind, threshold) and month. Two phases: the
        marker is `claimed` (until `lease_until`), then `confirm_alert` makes it `sent`.

        Returns the claim's token (`holder`, or a new one), or None when the alert was sent before. A claim
        left behind (its holder failed, and even giving it back failed) is taken back by the same holder at
        once (the retry of the same stream record), by anyone else once its lease has passed; until then
        they get `AlertInFlight`.
        """
        token = holder or uuid.uuid4().hex
        attributes = {
            **details,
            "pk": f"ALERT#{month}",
            "sk": alert_sk(key),
            "item_type": "alert",
            "at": at,
            "alert_state": "claimed",
            "claim": token,
            "claim_expires": int(lease_until.timestamp()),
        }
        if attributes["sk"] != key:  # a key too long for DynamoDB is hashed: the full one is kept here
            attributes["alert_key"] = key
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item(attributes),
                # a marker without alert_state was written before the two phases: it means sent
                ConditionExpression=(
                    "attribute_not_exists(pk) OR "
                    "(alert_state = :claimed AND (claim = :token OR claim_expires < :now))"
                ),
                ExpressionAttributeValues={
                    ":claimed": {"S": "claimed"},
                    ":token": {"S": token},
                    ":now": {"N": str(int(at.timestamp()))},
                },
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            held = cast("dict[str, Any]", error.response.get("Item") or {})
            if held.get("alert_state", {}).get("S") == "claimed":
                until = held["claim_expires"]["N"]
                raise AlertInFlight(f"alert {key} of {month} is claimed until {until}") from error
            return None
        return token

    def confirm_alert(
        self, month: str, key: str, token: str, at: datetime, details: Mapping[str, Any]
    ) -> None:
        """The claimed alert went out: mark it `sent` for good (if the claim is still this one)."""
        attributes = {**details, "pk": f"ALERT#{month}", "sk": alert_sk(key), "item_type": "alert", "at": at}
        if attributes["sk"] != key:
            attributes["alert_key"] = key
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item({**attributes, "alert_state": "sent", "claim": token}),
                ConditionExpression="claim = :token",
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except self.client.exceptions.ConditionalCheckFailedException as error:
            raise AlertInFlight(
                f"alert {key} of {month}: the claim was taken over before it was confirmed"
            ) from error

    def release_alert(self, month: str, key: str, token: str) -> None:
        """Undo a claim whose message could not be sent, so that the retry sends it at once (a claim that is
        no longer this one is left alone)."""
        with contextlib.suppress(self.client.exceptions.ConditionalCheckFailedException):
            self.client.delete_item(
                TableName=self.table,
                Key=_item({"pk": f"ALERT#{month}", "sk": alert_sk(key)}),
                ConditionExpression="claim = :token",
                ExpressionAttributeValues={":token": {"S": token}},
            )

    def budget_spend(
        self, month: str, values: Sequence[tuple[Dimension, str]]
    ) -> dict[tuple[Dimension, str], Aggregate]:
        """The month aggregates of some (dimension, value) pairs, in one BatchGetItem (100 keys a page)."""
        keys = [{"pk": f"AGG#{month}", "sk": aggregate_sk(d, v)} for d, v in sorted(set(values))]
        aggregates = [aggregate_from_item(month, item) for item in self._batch_get(keys, consistent=True)]
        return {(a.dimension, a.value): a for a in aggregates}

    def run_rates(self, month: str) -> dict[str, Decimal]:
        """What ran at the last sweep, USD per hour, by `<dimension>#<value>` (empty before the first)."""
        response = self.client.get_item(
            TableName=self.table, Key=_item({"pk": f"RUNRATE#{month}", "sk": "RUNNING"}), ConsistentRead=True
        )
        item = response.get("Item")
        return dict(_python(item)["rates"]) if item else {}

    def put_run_rates(self, month: str, rates: Mapping[str, Decimal]) -> None:
        """No timestamp in the item: an unchanged put leaves the item as it was, and DynamoDB Streams
        writes no record for a write that changes nothing."""
        item = {"pk": f"RUNRATE#{month}", "sk": "RUNNING", "item_type": "run_rate", "rates": dict(rates)}
        self.client.put_item(TableName=self.table, Item=_item(item))

    def put_actions(self, actions: Sequence[tuple[str, str, datetime, Mapping[str, Any]]]) -> None:
        """Record many actions at once (BatchWriteItem, 25 a request): (ARN, action id, time, details).
        Plain puts: an action id names one occurrence, so writing it again changes nothing."""
        items = [action_item(arn, action, at, details) for arn, action, at, details in actions]
        for start in range(0, len(items), 25):
            request: dict[str, Any] = {
                self.table: [{"PutRequest": {"Item": i}} for i in items[start : start + 25]]
            }
            while request:
                response = self.client.batch_write_item(RequestItems=request)
                request = dict(response.get("UnprocessedItems") or {})

    def claim_action(
        self,
        arn: str,
        action: str,
        at: datetime,
        details: Mapping[str, Any],
        now: datetime,
        lease_until: datetime,
    ) -> bool:
        """`record_action` in two phases, for work that follows the claim: the action is `claimed` until
        `lease_until`, then `confirm_action` records it for good. A claim left behind (the work failed and
        even `release_action` failed) is taken over once its lease has passed: False only while it is held,
        or once the action is done."""
        state = {"action_state": "claimed", "claim_expires": int(lease_until.timestamp())}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=action_item(arn, action, at, {**details, **state}),
                ConditionExpression=(
                    "attribute_not_exists(pk) OR (action_state = :claimed AND claim_expires < :now)"
                ),
                ExpressionAttributeValues={
                    ":claimed": {"S": "claimed"},
                    ":now": {"N": str(int(now.timestamp()))},
                },
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def confirm_action(self, arn: str, action: str, at: datetime, details: Mapping[str, Any]) -> None:
        """The claimed action's work is done: record it for good (the claim's state and lease go)."""
        self.client.put_item(TableName=self.table, Item=action_item(arn, action, at, details))

    def release_action(self, arn: str, action: str) -> None:
        """Undo a claim whose work failed, so that a retry can claim it again."""
        self.client.delete_item(
            TableName=self.table, Key=_item({"pk": resource_pk(arn), "sk": action_sk(action)})
        )

    def actions(self, month: str | None = None) -> list[dict[str, Any]]:
        """Recorded tag policy actions, oldest first."""
        if month is None:
            items = list(self._scan("item_type = :t", {":t": "action"}))
        else:
            paginator = self.client.get_paginator("query")
            items = [
                item
                for page in paginator.paginate(
                    TableName=self.table,
                    IndexName="by_month",
                    KeyConditionExpression="gsi1pk = :m",
                    ExpressionAttributeValues={":m": {"S": f"ACTIONS#{month}"}},
                )
                for item in page["Items"]
            ]
        rows = [_python(item) for item in items]
        return sorted(
            (
                {k: v for k, v in row.items() if k not in {"pk", "sk", "gsi1pk", "gsi1sk", "item_type"}}
                for row in rows
            ),
            key=lambda row: (str(row["at"]), str(row["resource_arn"]), str(row["action"])),
        )

    # --- rejected input -----------------------------------------------------------------------

    @staticmethod
    def _rejection(raw: str, reason: str, source: str, *, expires: datetime) -> dict[str, Any]:
        """The attributes every kept rejection has: why, from where, the input (cut at 64 KiB), expiry."""
        return {
            "item_type": "rejected",
            "reason": reason,
            "source": source,
            "raw": kept_raw(raw),
            "truncated": len(raw.encode()) > MAX_RAW_BYTES,
            "expires_at": int(expires.timestamp()),
        }

    def reject(self, raw: str, reason: str, at: datetime, *, source: str) -> None:
        """Keep what could not be metered, with why, where an operator can read it (30 days)."""
        digest = hashlib.sha256(raw.encode()).hexdigest()[:16]
        key = {"pk": f"REJECTED#{at.date().isoformat()}", "sk": f"{at.isoformat()}#{digest}"}
        attributes = self._rejection(raw, reason, source, expires=at + REJECTION_RETENTION)
        self.client.put_item(TableName=self.table, Item=_item(key | attributes))

    def keep_sealed(self, raw: str, *, change: str, changed_at: datetime, source: str, at: datetime) -> None:
        """Keep a state change that came after its usage was sealed (reason `sealed`) under the month it
        happened in, until that month's report has read it. `change` names it (resource and status): the
        first to see it keeps it, whether the event (however often delivered) or the hourly sweep."""
        digest = hashlib.sha256(change.encode()).hexdigest()[:16]
        key = {"pk": f"SEALED#{month_of(changed_at)}", "sk": f"{changed_at.isoformat()}#{digest}"}
        expires = max(at, next_month_start(changed_at)) + REJECTION_RETENTION
        attributes = self._rejection(raw, "sealed", source, expires=expires) | {"rejected_at": at.isoformat()}
        try:
            self.client.put_item(
                TableName=self.table,
                Item=_item(key | attributes),
                ConditionExpression="attribute_not_exists(pk)",
            )
        except self.client.exceptions.ConditionalCheckFailedException:
            return  # already kept

    def sealed(self, month: str) -> dict[str, int]:
        """How many sealed state changes of `month` each source kept (one Query)."""
        counts: dict[str, int] = {}
        paginator = self.client.get_paginator("query")
        for page in paginator.paginate(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": f"SEALED#{month}"}},
        ):
            for raw in page["Items"]:
                source = _python(raw)["source"]
                counts[source] = counts.get(source, 0) + 1
        return counts

    # --- reading ------------------------------------------------------------------------------

    def _scan(self, filter_expression: str, values: dict[str, Any]) -> Iterator[dict[str, Any]]:
        paginator = self.client.get_paginator("scan")
        for page in paginator.paginate(
            TableName=self.table,
            FilterExpression=filter_expression,
            ExpressionAttributeValues=_item(values),
        ):
            yield from page["Items"]

    def records(self, month: str | None = None) -> Iterator[UsageRecord]:
        """Usage records of one month (by the by_month index), or all of them."""
        if month is None:
            items: Iterable[dict[str, Any]] = self._scan("item_type = :t", {":t": "usage"})
        else:
            paginator = self.client.get_paginator("query")
            items = (
                item
                for page in paginator.paginate(
                    TableName=self.table,
                    IndexName="by_month",
                    KeyConditionExpression="gsi1pk = :m",
                    ExpressionAttributeValues={":m": {"S": f"MONTH#{month}"}},
                )
                for item in page["Items"]
            )
        for item in items:
            yield record_from_item(item)

    def aggregates(self, month: str, dimension: Dimension | None = None) -> list[Aggregate]:
        """The month's aggregate items, of one dimension or of all (a Query: no record is read)."""
        paginator = self.client.get_paginator("query")
        result: list[Aggregate] = []
        condition, values = "pk = :pk", {":pk": {"S": f"AGG#{month}"}}
        if dimension is not None:
            condition += " AND begins_with(sk, :dimension)"
            values[":dimension"] = {"S": f"{dimension.value}#"}
        for page in paginator.paginate(
            TableName=self.table, KeyConditionExpression=condition, ExpressionAttributeValues=values
        ):
            result += [aggregate_from_item(month, _python(raw)) for raw in page["Items"]]
        return result

    def month_total(self, month: str, aggregates: Sequence[Aggregate] | None = None) -> Aggregate:
        """The month's totals: the sum over one dimension (every record counts once in each)."""
        by_project = [a for a in (aggregates or self.aggregates(month)) if a.dimension is Dimension.PROJECT]
        return Aggregate(
            month=month,
            dimension=Dimension.PROJECT,
            value="*",
            cost=sum((a.cost for a in by_project), Decimal(0)),
            records=sum(a.records for a in by_project),
            unpriced_records=sum(a.unpriced_records for a in by_project),
            unpriced_instance_hours=sum((a.unpriced_instance_hours for a in by_project), Decimal(0)),
        )

    def months(self) -> list[str]:
        found = {
            item["pk"]["S"].removeprefix("AGG#") for item in self._scan("begins_with(pk, :p)", {":p": "AGG#"})
        }
        return sorted(found)

    def rejected(self) -> list[dict[str, Any]]:
        rows = [_python(item) for item in self._scan("item_type = :t", {":t": "rejected"})]
        return sorted(
            (
                {"at": r["sk"].split("#")[0], "reason": r["reason"], "source": r["source"], "raw": r["raw"]}
                for r in rows
            ),
            key=lambda r: (r["at"], r["raw"]),
        )


class AlertInFlight(Exception):
    """Another claim holds this alert and has not sent it (yet): fail, and retry after its lease."""
