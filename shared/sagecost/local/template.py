"""Read the SAM template as plain data, for the local simulator and the tests.

The deployment is described once, in ``template.yaml``. Whatever runs locally (moto tables, queues,
EventBridge routing, the handlers to call, their environment) is derived from it here, so the
simulation cannot drift from what ``sam deploy`` creates.

CloudFormation short-form tags are read as their long form (``!Ref X`` -> ``{"Ref": "X"}``,
``!GetAtt X.Arn`` -> ``{"Fn::GetAtt": ["X", "Arn"]}``, ``!Sub s`` -> ``{"Fn::Sub": "s"}``, ...);
nothing is resolved. Helpers below only report what is literal in the template.

This module runs in the CLI / test environment only (PyYAML is not in the Lambda layer).
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

__all__ = [
    "EventRule",
    "FunctionSpec",
    "TemplateError",
    "default_template_path",
    "event_rules",
    "functions",
    "load_template",
    "queue_names",
    "table_create_args",
    "table_ttl_attribute",
]

TEMPLATE_FILE_NAME = "template.yaml"

# Lambda's default batch size for an SQS event source when the template does not set one.
DEFAULT_SQS_BATCH_SIZE = 10

_TIMESTAMP_TAG = "tag:yaml.org,2002:timestamp"
_UNPREFIXED_TAGS = frozenset({"Ref", "Condition"})  # the two short forms without an "Fn::" prefix


class TemplateError(ValueError):
    """The template is missing, is not valid YAML, or lacks what a helper needs."""


class _CloudFormationLoader(yaml.SafeLoader):
    """A SafeLoader that understands CloudFormation's short-form tags.

    Dates stay strings (``Version: 2012-10-17`` is a string to CloudFormation, not a date).
    """


_CloudFormationLoader.yaml_implicit_resolvers = {
    first_char: [(tag, regexp) for tag, regexp in resolvers if tag != _TIMESTAMP_TAG]
    for first_char, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_intrinsic(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML only produces the three node kinds above
        raise yaml.constructor.ConstructorError(
            None, None, f"unexpected node for !{tag_suffix}", node.start_mark
        )
    if tag_suffix in _UNPREFIXED_TAGS:
        return {tag_suffix: value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        # "Resource.Attribute" (the attribute itself may contain dots, e.g. Outputs.Name)
        logical_id, _, attribute = value.partition(".")
        value = [logical_id, attribute]
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _construct_intrinsic)


def default_template_path() -> Path:
    """The repository's ``template.yaml``: the first one found walking up from this file.

    In a source checkout that is ``<repo>/template.yaml`` (this file lives in
    ``<repo>/shared/sagecost/local/``). Outside a checkout (an installed package) it falls back to
    ``./template.yaml``. Callers that know better pass their own path to :func:`load_template`.
    """
    for directory in Path(__file__).resolve().parents:
        candidate = directory / TEMPLATE_FILE_NAME
        if candidate.is_file():
            return candidate
    return Path.cwd() / TEMPLATE_FILE_NAME


def load_template(path: Path | None = None) -> dict[str, Any]:
    """Load a CloudFormation/SAM template (YAML or JSON) as plain data.

    ``path`` defaults to :func:`default_template_path`. Raises :class:`TemplateError` when the file
    cannot be read, is not valid YAML, or is not a template (a mapping with ``Resources``).
    """
    template_path = default_template_path() if path is None else path
    try:
        text = template_path.read_text(encoding="utf-8")
    except OSError as exc:
        raise TemplateError(f"cannot read template {template_path}: {exc.strerror or exc}") from exc
    try:
        # A SafeLoader subclass: only plain data and the intrinsic-function tags are constructed.
        data = yaml.load(text, Loader=_CloudFormationLoader)  # noqa: S506
    except yaml.YAMLError as exc:
        raise TemplateError(f"{template_path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise TemplateError(f"{template_path} is not a template: the top level is not a mapping")
    if not isinstance(data.get("Resources"), dict):
        raise TemplateError(f"{template_path} is not a template: it has no Resources mapping")
    return data


# ------------------------------------------------------------------------------------------------
# Small readers
# ------------------------------------------------------------------------------------------------


def _resources(template: dict[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources")
    if not isinstance(resources, dict):
        raise TemplateError("the template has no Resources mapping")
    return resources


def _resources_of_type(template: dict[str, Any], resource_type: str) -> list[tuple[str, dict[str, Any]]]:
    """``(logical id, Properties)`` of every resource of one type, in template order."""
    found: list[tuple[str, dict[str, Any]]] = []
    for logical_id, resource in _resources(template).items():
        if isinstance(resource, dict) and resource.get("Type") == resource_type:
            properties = resource.get("Properties") or {}
            if not isinstance(properties, dict):
                raise TemplateError(f"{logical_id}: Properties is not a mapping")
            found.append((str(logical_id), properties))
    return found


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise TemplateError(f"{where} is not a mapping")
    return value


def _getatt_logical_id(value: Any, attribute: str = "Arn") -> str | None:
    """``X`` for ``{"Fn::GetAtt": ["X", attribute]}`` (or ``"X.attribute"``), else None."""
    if not isinstance(value, dict) or set(value) != {"Fn::GetAtt"}:
        return None
    reference = value["Fn::GetAtt"]
    if isinstance(reference, str):
        logical_id, _, attr = reference.partition(".")
    elif (
        isinstance(reference, list)
        and len(reference) == 2
        and isinstance(reference[0], str)
        and isinstance(reference[1], str)
    ):
        logical_id, attr = reference
    else:
        return None
    return logical_id if attr == attribute else None


def queue_names(template: dict[str, Any]) -> list[str]:
    """Logical ids of every ``AWS::SQS::Queue``, in template order."""
    return [logical_id for logical_id, _ in _resources_of_type(template, "AWS::SQS::Queue")]


# ------------------------------------------------------------------------------------------------
# EventBridge rules
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class EventRule:
    """An ``AWS::Events::Rule`` with an event pattern, and the SQS queues it targets."""

    logical_id: str
    pattern: dict[str, Any]
    target_queue_ids: tuple[str, ...]


def _event_pattern(logical_id: str, raw: Any) -> dict[str, Any]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise TemplateError(f"{logical_id}: EventPattern is not valid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise TemplateError(f"{logical_id}: EventPattern is not a mapping")
    return copy.deepcopy(raw)


def event_rules(template: dict[str, Any]) -> list[EventRule]:
    """Every EventBridge rule that has an ``EventPattern`` (scheduled rules are skipped).

    The pattern may be written as a mapping or as a JSON string. ``target_queue_ids`` are the
    logical ids of the rule's ``AWS::SQS::Queue`` targets (``Arn: !GetAtt Queue.Arn``); other
    targets are not reported.
    """
    queues = set(queue_names(template))
    rules: list[EventRule] = []
    for logical_id, properties in _resources_of_type(template, "AWS::Events::Rule"):
        if properties.get("EventPattern") is None:
            continue
        pattern = _event_pattern(logical_id, properties["EventPattern"])
        targets = properties.get("Targets") or []
        if not isinstance(targets, list):
            raise TemplateError(f"{logical_id}: Targets is not a list")
        target_queue_ids: list[str] = []
        for target in targets:
            queue_id = _getatt_logical_id(target.get("Arn")) if isinstance(target, dict) else None
            if queue_id is not None and queue_id in queues:
                target_queue_ids.append(queue_id)
        rules.append(EventRule(logical_id, pattern, tuple(target_queue_ids)))
    return rules


# ------------------------------------------------------------------------------------------------
# Functions
# ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FunctionSpec:
    """What the simulator needs to run one ``AWS::Serverless::Function`` in-process."""

    logical_id: str
    handler: str
    code_uri: str
    queue_ids: tuple[str, ...]  # logical ids of its SQS event sources' queues
    schedules: tuple[str, ...]  # ScheduleV2 / Schedule expressions, e.g. "rate(1 hour)"
    batch_size: int | None  # of its (first) SQS event source; None without one
    environment: dict[str, str]  # literal string variables only (Globals merged in)
    stream_filters: tuple[str, ...] = ()  # FilterCriteria patterns of its DynamoDB stream source
    reads_stream: bool = False  # it has a DynamoDB stream event source


@dataclass
class _EventSources:
    queue_ids: list[str]
    schedules: list[str]
    batch_size: int | None = None
    stream_filters: list[str] | None = None


def _event_sources(logical_id: str, events: dict[str, Any]) -> _EventSources:
    sources = _EventSources(queue_ids=[], schedules=[])
    for event_id, event in events.items():
        event_map = _mapping(event, f"{logical_id}.Events.{event_id}")
        properties = _mapping(event_map.get("Properties"), f"{logical_id}.Events.{event_id}.Properties")
        event_type = event_map.get("Type")
        if event_type == "SQS":
            queue_id = _getatt_logical_id(properties.get("Queue"))
            if queue_id is not None:
                sources.queue_ids.append(queue_id)
            if sources.batch_size is None:
                batch_size = properties.get("BatchSize", DEFAULT_SQS_BATCH_SIZE)
                if not isinstance(batch_size, int) or isinstance(batch_size, bool):
                    raise TemplateError(f"{logical_id}.Events.{event_id}: BatchSize is not a literal integer")
                sources.batch_size = batch_size
        elif event_type == "DynamoDB":
            criteria = _mapping(
                properties.get("FilterCriteria"), f"{logical_id}.Events.{event_id}.FilterCriteria"
            )
            filters = criteria.get("Filters") or []
            sources.stream_filters = [
                str(f["Pattern"]) for f in filters if isinstance(f, dict) and "Pattern" in f
            ]
        elif event_type in ("ScheduleV2", "Schedule"):
            key = "ScheduleExpression" if event_type == "ScheduleV2" else "Schedule"
            expression = properties.get(key)
            if isinstance(expression, str):
                sources.schedules.append(expression)
    return sources


def _variables(function_properties: dict[str, Any], where: str) -> dict[str, Any]:
    environment = _mapping(function_properties.get("Environment"), f"{where}.Environment")
    return _mapping(environment.get("Variables"), f"{where}.Environment.Variables")


def functions(template: dict[str, Any]) -> list[FunctionSpec]:
    """Every ``AWS::Serverless::Function``, with ``Globals.Function`` merged in.

    ``Handler`` and ``CodeUri`` fall back to ``Globals.Function``; environment variables are merged
    (the function's own win) and only literal strings are kept (``!Ref X`` and friends are dropped).
    An SQS event source without ``BatchSize`` reports Lambda's default of 10.
    """
    globals_section = _mapping(template.get("Globals"), "Globals")
    global_function = _mapping(globals_section.get("Function"), "Globals.Function")
    global_variables = _variables(global_function, "Globals.Function")

    specs: list[FunctionSpec] = []
    for logical_id, properties in _resources_of_type(template, "AWS::Serverless::Function"):
        handler = properties.get("Handler", global_function.get("Handler"))
        if not isinstance(handler, str) or not handler:
            raise TemplateError(f"{logical_id}: no Handler")
        code_uri = properties.get("CodeUri", global_function.get("CodeUri"))
        if not isinstance(code_uri, str):
            raise TemplateError(f"{logical_id}: CodeUri is not a local path")
        variables = {**global_variables, **_variables(properties, logical_id)}
        sources = _event_sources(logical_id, _mapping(properties.get("Events"), f"{logical_id}.Events"))
        specs.append(
            FunctionSpec(
                logical_id=logical_id,
                handler=handler,
                code_uri=code_uri,
                queue_ids=tuple(sources.queue_ids),
                schedules=tuple(sources.schedules),
                batch_size=sources.batch_size,
                environment={str(k): v for k, v in variables.items() if isinstance(v, str)},
                stream_filters=tuple(sources.stream_filters or ()),
                reads_stream=sources.stream_filters is not None,
            )
        )
    return specs


# ------------------------------------------------------------------------------------------------
# DynamoDB
# ------------------------------------------------------------------------------------------------

# Keys of a CloudFormation index definition that boto3's create_table accepts as they are.
_GSI_KEYS = ("IndexName", "KeySchema", "Projection", "ProvisionedThroughput", "OnDemandThroughput")
_LSI_KEYS = ("IndexName", "KeySchema", "Projection")


def _table_properties(template: dict[str, Any], logical_id: str) -> dict[str, Any]:
    resource = _resources(template).get(logical_id)
    if not isinstance(resource, dict) or resource.get("Type") != "AWS::DynamoDB::Table":
        raise TemplateError(f"{logical_id} is not an AWS::DynamoDB::Table in the template")
    return _mapping(resource.get("Properties"), f"{logical_id}.Properties")


def _indexes(properties: dict[str, Any], key: str, allowed: tuple[str, ...]) -> list[dict[str, Any]]:
    indexes = properties.get(key) or []
    if not isinstance(indexes, list):
        raise TemplateError(f"{key} is not a list")
    return [
        {name: copy.deepcopy(index[name]) for name in allowed if name in index}
        for index in indexes
        if isinstance(index, dict)
    ]


def table_create_args(
    template: dict[str, Any], logical_id: str = "LedgerTable", table_name: str | None = None
) -> dict[str, Any]:
    """Keyword arguments for boto3 ``dynamodb.create_table`` that reproduce a template table.

    ``TableName`` is ``table_name`` if given, else the template's literal ``TableName``, else the
    logical id. Keys, attribute definitions, indexes, billing mode and the stream come from the
    template (the stream in boto3's shape: ``StreamEnabled`` + ``StreamViewType``). TTL is not a
    create_table argument: see :func:`table_ttl_attribute`.
    """
    properties = _table_properties(template, logical_id)
    for required in ("KeySchema", "AttributeDefinitions"):
        if not isinstance(properties.get(required), list):
            raise TemplateError(f"{logical_id}: {required} is missing")
    name = properties.get("TableName")
    args: dict[str, Any] = {
        "TableName": table_name or (name if isinstance(name, str) else logical_id),
        "KeySchema": copy.deepcopy(properties["KeySchema"]),
        "AttributeDefinitions": copy.deepcopy(properties["AttributeDefinitions"]),
        "BillingMode": properties.get("BillingMode", "PROVISIONED"),
    }
    if "ProvisionedThroughput" in properties:
        args["ProvisionedThroughput"] = copy.deepcopy(properties["ProvisionedThroughput"])
    global_indexes = _indexes(properties, "GlobalSecondaryIndexes", _GSI_KEYS)
    if global_indexes:
        args["GlobalSecondaryIndexes"] = global_indexes
    local_indexes = _indexes(properties, "LocalSecondaryIndexes", _LSI_KEYS)
    if local_indexes:
        args["LocalSecondaryIndexes"] = local_indexes
    stream = _mapping(properties.get("StreamSpecification"), f"{logical_id}.StreamSpecification")
    if "StreamViewType" in stream:
        args["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    return args


def table_ttl_attribute(template: dict[str, Any], logical_id: str = "LedgerTable") -> str | None:
    """The table's enabled TTL attribute (for ``update_time_to_live``), or None."""
    properties = _table_properties(template, logical_id)
    ttl = _mapping(properties.get("TimeToLiveSpecification"), f"{logical_id}.TimeToLiveSpecification")
    attribute = ttl.get("AttributeName")
    if ttl.get("Enabled") is True and isinstance(attribute, str):
        return attribute
    return None
