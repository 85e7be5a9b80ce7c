"""Section 7: month-end allocation time against months of 10^4..10^6 usage records and 100..3,000 projects.

Allocation reads the month's aggregate items (one per project|team|cost center|environment, one per
resource line), never the usage records. To show that, each month is built from N generated records
(project, resource, environment, cost) summed into exactly the aggregate items the metering transactions
leave behind; the records themselves are not written, because nothing in the allocation reads them.
The allocator then runs on in-process moto with the production clients, its requests counted.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeSerializer

from bench import moto_ledger

MONTH = "2026-10"
RESOURCES_PER_PROJECT = 5
ACCOUNT = "123456789012"


@dataclass(frozen=True)
class AllocationRun:
    records: int
    projects: int
    allocation_items: int
    resource_lines: int
    requests: int
    allocate_seconds: float
    render_seconds: float
    metered: Decimal


def _aggregate_items(records: int, projects: int, seed: int = 11) -> Iterator[dict[str, Any]]:
    """The AGG#<month> items N records over `projects` projects add up to (costs summed in micro-dollars,
    as the ledger keeps them)."""
    rng = random.Random(seed)
    rates = [rng.randint(50_000, 40_000_000) for _ in range(997)]  # $0.05..$40 per record, micro-dollars
    resources = projects * RESOURCES_PER_PROJECT
    allocation: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    lines: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for index in range(records):
        resource = index % resources
        project = resource % projects
        environment = "prod" if resource % 4 == 0 else "dev"
        cost = rates[index % len(rates)]
        key = f"project-{project:05d}|team-{project % 40:02d}|cc-{project % 12:02d}|{environment}"
        totals = allocation[key]
        totals[0] += cost
        totals[1] += 1
        arn = f"arn:aws:sagemaker:us-east-1:{ACCOUNT}:endpoint/ep-{resource:06d}"
        line_key = (
            f"{arn}|hosting|ml.g5.xlarge|instance-hour|project-{project:05d}|team-{project % 40:02d}|"
            f"cc-{project % 12:02d}|{environment}"
        )
        line = lines[line_key]
        line[0] += cost
        line[1] += 1
    for dimension, items in (("allocation", allocation), ("resource", lines)):
        for value, (cost, count) in items.items():
            yield {
                "pk": f"AGG#{MONTH}",
                "sk": f"{dimension}#{value}",
                "cost": Decimal(cost) / 1_000_000,
                "records": count,
                "quantity": Decimal(count),
            }


def measure_allocation(records: int, projects: int) -> AllocationRun:
    import boto3

    from sagecost.models.allocation import AllocationPolicy
    from sagecost.models.config import SagecostConfig
    from sagecost.services.allocation import MonthEndAllocator, render_outputs

    serializer = TypeSerializer()
    with moto_ledger() as moto:
        setup = boto3.client("dynamodb", region_name="us-east-1")
        items = list(_aggregate_items(records, projects))
        for start in range(0, len(items), 25):
            setup.batch_write_item(
                RequestItems={
                    moto.ledger.table: [
                        {"PutRequest": {"Item": {k: serializer.serialize(v) for k, v in item.items()}}}
                        for item in items[start : start + 25]
                    ]
                }
            )
        config = SagecostConfig(allocation=AllocationPolicy(shared_projects=("project-00000",)))
        before = moto.counter.snapshot()
        started = time.perf_counter()
        month_end = MonthEndAllocator(moto.ledger, config).run(MONTH)
        allocated = time.perf_counter()
        render_outputs(month_end, config.tags.primary_keys())
        rendered = time.perf_counter()
        requests = sum(moto.counter.since(before).values())
    allocation_items = sum(1 for item in items if item["sk"].startswith("allocation#"))
    return AllocationRun(
        records=records,
        projects=projects,
        allocation_items=allocation_items,
        resource_lines=len(items) - allocation_items,
        requests=requests,
        allocate_seconds=allocated - started,
        render_seconds=rendered - allocated,
        metered=month_end.report.totals.metered,
    )
