"""Records one SageMaker event: the meter of its kind (found by `detail-type`, or by the CloudTrail call's
`eventName`) applies the kind's rules, makes the reads they allow, and hands the usage to the writer."""

from __future__ import annotations

from collections.abc import Sequence

from sagecost.models.events import ApiCallEvent, InvalidEvent, SageMakerEvent
from sagecost.services.usage.kind_meter import KindMeter
from sagecost.services.usage.results import MeteringResult, Outcome


class UsageRecorder:
    """Sends each validated event to the meter of its kind."""

    def __init__(self, meters: Sequence[KindMeter]) -> None:
        self._by_detail_type = {t: m for m in meters for t in m.spec.detail_types}
        self._by_api_call = {c: m for m in meters for c in m.spec.cloudtrail_calls}

    def record(self, event: SageMakerEvent) -> MeteringResult:
        if isinstance(event, ApiCallEvent):
            meter = self._by_api_call.get(event.detail.event_name)
            if meter is None:
                raise InvalidEvent(f"CloudTrail call {event.detail.event_name!r} is not one sagecost meters")
            if event.detail.failed:
                return MeteringResult(
                    Outcome.NOTHING_TO_METER, f"the call failed ({event.detail.error_code})"
                )
            return meter.record(event)
        meter = self._by_detail_type.get(event.detail_type)
        if meter is None:
            raise InvalidEvent(f"detail-type {event.detail_type!r} is not one sagecost meters here")
        return meter.record(event)
