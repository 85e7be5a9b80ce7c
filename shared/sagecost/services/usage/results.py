"""What metering did: per event or resource (`MeteringResult`) and per sweep (`SweepReport`)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from sagecost.models.ledger import UsageRecord
from sagecost.models.state import Transition


class Outcome(StrEnum):
    RECORDED = "recorded"
    DUPLICATE = "duplicate"
    NOTHING_TO_METER = "nothing-to-meter"
    CACHED = "cached"


class Source(StrEnum):
    """Who saw a state change: an event the recorder got, or the hourly sweep."""

    RECORDER = "usage_recorder"
    SWEEPER = "usage_sweeper"


@dataclass(frozen=True)
class SealedChange:
    resource_arn: str
    transition: Transition

    def describe(self) -> str:
        """What the sweep saw, as a rejection keeps it (events are kept as they arrived)."""
        t = self.transition
        return json.dumps(
            {"resource_arn": self.resource_arn, "status": t.status, "changed_at": t.at.isoformat()},
            sort_keys=True,
        )


@dataclass
class MeteringResult:
    """What recording one event (or sweeping one resource) did to the ledger."""

    outcome: Outcome
    detail: str = ""
    records: list[UsageRecord] = field(default_factory=list)
    sealed: list[SealedChange] = field(default_factory=list)
    """State changes that came after the usage they would have moved was sealed: not applied."""

    @property
    def too_late(self) -> int:
        return len(self.sealed)

    @property
    def unpriced(self) -> int:
        return sum(1 for r in self.records if r.unpriced)

    @property
    def cost(self) -> Decimal:
        return sum((r.cost for r in self.records if r.cost is not None), Decimal(0))


@dataclass
class SweepReport:
    resources: int = 0
    records: int = 0
    closed: int = 0
    transactions: int = 0
    retried_alone: int = 0
    cost: Decimal = Decimal(0)
    unpriced: int = 0
    sealed: list[SealedChange] = field(default_factory=list)
    """What the sweep saw change before the seal: usage it could not meter as it ran."""

    def add(self, result: MeteringResult, *, closed: bool = False) -> None:
        self.resources += 1
        self.sealed += result.sealed
        self.records += len(result.records)
        self.cost += result.cost
        self.unpriced += result.unpriced
        self.closed += closed
