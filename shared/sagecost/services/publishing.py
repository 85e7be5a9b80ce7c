"""`sagecost config push` and `sagecost prices push`: a validated config or price override written to the
stack's Parameter Store parameter, with the difference to what is deployed shown first. Nothing is written
when the file is invalid, when it contradicts the stack's IAM conditions, or when nothing changed."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass, field
from typing import Protocol

from sagecost.adapters.parameters import compact_json
from sagecost.domain.deployment import StackConditions, conflicts
from sagecost.models.config import SagecostConfig
from sagecost.models.prices import PriceCatalog

CONFIG_DESCRIPTION = "sagecost config (JSON), written by `sagecost config push`"
PRICES_DESCRIPTION = (
    "sagecost price override (a catalog JSON; {} for none), written by `sagecost prices push`"
)


class Parameters(Protocol):
    def read(self, name: str) -> str | None: ...
    def write(self, name: str, value: str, description: str) -> int: ...


@dataclass
class Push:
    """What a push found and did."""

    parameter: str
    diff: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    written_version: int | None = None

    @property
    def changed(self) -> bool:
        return bool(self.diff)


def config_document(config: SagecostConfig) -> str:
    """The parameter's value: what the file set (defaults stay implicit, so the value stays small)."""
    text = compact_json(config.model_dump(mode="json", exclude_unset=True, by_alias=True))
    if SagecostConfig.model_validate_json(text) != config:  # never push what would read back differently
        text = compact_json(config.model_dump(mode="json", by_alias=True))
    return text


def _readable(text: str | None) -> list[str]:
    if text is None:
        return []
    try:
        return json.dumps(json.loads(text or "{}"), indent=2, sort_keys=True).splitlines()
    except json.JSONDecodeError:
        return text.splitlines()


def _push(
    parameters: Parameters, name: str, value: str, description: str, *, refused: list[str], dry_run: bool
) -> Push:
    deployed = parameters.read(name)
    diff = list(
        difflib.unified_diff(
            _readable(deployed), _readable(value), f"{name} (deployed)", f"{name} (new)", lineterm=""
        )
    )
    if deployed is None:
        diff = diff or [f"+ {name} (new parameter)"]
    push = Push(parameter=name, diff=diff, refused=refused)
    if refused or not diff or dry_run:
        return push
    push.written_version = parameters.write(name, value, description)
    return push


def push_config(
    parameters: Parameters,
    name: str,
    config: SagecostConfig,
    stack: StackConditions | None,
    *,
    dry_run: bool = False,
) -> Push:
    """Write `config` to the parameter unless the stack's IAM conditions contradict it (`stack` None: the
    conditions are unknown, e.g. `--parameter` without `--stack`, and not checked)."""
    refused = conflicts(config, stack) if stack is not None else []
    return _push(
        parameters, name, config_document(config), CONFIG_DESCRIPTION, refused=refused, dry_run=dry_run
    )


def price_override(catalog: PriceCatalog, packaged: PriceCatalog) -> PriceCatalog | None:
    """The prices of `catalog` that the packaged one lacks or prices differently (None: no difference), so
    a full refreshed catalog pushes only what changes and stays within a parameter's 8 KB."""
    shipped = {price.key: price for price in packaged.prices}
    changed = tuple(p for p in catalog.prices if shipped.get(p.key) != p)
    if not changed:
        return None
    return PriceCatalog(
        generated=catalog.generated,
        sources={source: catalog.sources[source] for source in sorted({p.source for p in changed})},
        prices=changed,
    )


def push_prices(
    parameters: Parameters, name: str, catalog: PriceCatalog, packaged: PriceCatalog, *, dry_run: bool = False
) -> tuple[Push, int]:
    """Write the override that makes the functions price as `catalog` does; (the push, prices overridden)."""
    override = price_override(catalog, packaged)
    value = "{}" if override is None else compact_json(override.model_dump(mode="json"))
    push = _push(parameters, name, value, PRICES_DESCRIPTION, refused=[], dry_run=dry_run)
    return push, 0 if override is None else len(override.prices)
