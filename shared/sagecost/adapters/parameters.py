"""SSM Parameter Store: the config and the price override of a deployed stack.

template.yaml creates two parameters per stack, `/sagecost/<stack>/config` and `/sagecost/<stack>/prices`
(both `{}` at first: the default config, no override); `sagecost config push` and `sagecost prices push`
write them. A function reads them through Powertools Parameters with a cache (`max_age`), so a push
reaches every warm function within minutes, without a redeploy; each distinct value is parsed once.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from aws_lambda_powertools.utilities.parameters import SSMProvider
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError
from pydantic import ValidationError

from sagecost.adapters.prices import load_catalog
from sagecost.domain.pricing import PriceBook
from sagecost.models.config import SagecostConfig
from sagecost.models.prices import PriceCatalog

if TYPE_CHECKING:
    from mypy_boto3_ssm import SSMClient

PARAMETER_LIMIT_BYTES = 8 * 1024
"""The largest value Parameter Store holds (advanced tier; the standard tier holds 4 KB)."""
STANDARD_LIMIT_BYTES = 4 * 1024


class ParameterError(RuntimeError):
    """A parameter that cannot be read, or whose value is not what sagecost wrote: the message says why."""


def problems_of(error: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in issue['loc']) or '(top level)'}: {issue['msg']}"
        for issue in error.errors(include_url=False)
    )


def config_from_json(text: str, *, where: str) -> SagecostConfig:
    try:
        return SagecostConfig.model_validate_json(text or "{}")
    except ValidationError as error:
        raise ParameterError(
            f"{where} is not a valid sagecost config ({problems_of(error)}); "
            "fix the file and run `sagecost config push FILE --stack NAME`"
        ) from None


def override_from_json(text: str, *, where: str) -> PriceCatalog | None:
    """A price override (a catalog of the rates that replace or add to the packaged ones); `{}`: none."""
    if not text.strip() or json.loads(text or "{}") == {}:
        return None
    try:
        return PriceCatalog.model_validate_json(text)
    except ValidationError as error:
        raise ParameterError(
            f"{where} is not a valid price catalog ({problems_of(error)}); "
            "fix the file and run `sagecost prices push FILE --stack NAME`"
        ) from None


def compact_json(value: Any) -> str:
    """What a parameter holds: compact, keys sorted, so the same content is always the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


class ParameterStore:
    """The config and the prices a deployed function uses, re-read at most every `max_age` seconds."""

    def __init__(
        self,
        client: SSMClient,
        *,
        config_name: str,
        prices_name: str,
        max_age: int = 300,
        catalog_path: Path | None = None,
    ) -> None:
        self.provider = SSMProvider(boto3_client=client)
        self.config_name = config_name
        self.prices_name = prices_name
        self.max_age = max_age
        self.catalog_path = catalog_path
        self._config: tuple[str, SagecostConfig] | None = None
        self._prices: tuple[str, PriceBook] | None = None
        self._catalog: PriceCatalog | None = None

    def _read(self, name: str) -> str:
        try:
            value = self.provider.get(name, max_age=self.max_age)
        except (GetParameterError, ClientError) as error:
            raise ParameterError(
                f"cannot read the SSM parameter {name} ({error}): the stack creates it; "
                "check the function's role allows ssm:GetParameter on it"
            ) from None
        return value if isinstance(value, str) else json.dumps(value)

    def config(self) -> SagecostConfig:
        text = self._read(self.config_name)
        if self._config is None or self._config[0] != text:
            self._config = (text, config_from_json(text, where=f"SSM parameter {self.config_name}"))
        return self._config[1]

    def prices(self) -> PriceBook:
        text = self._read(self.prices_name)
        if self._prices is None or self._prices[0] != text:
            if self._catalog is None:
                self._catalog = load_catalog(self.catalog_path)
            override = override_from_json(text, where=f"SSM parameter {self.prices_name}")
            catalog = self._catalog if override is None else self._catalog.with_override(override)
            self._prices = (text, PriceBook(catalog))
        return self._prices[1]


class ParameterWriter:
    """`sagecost config push` / `prices push`: read what is deployed, write a new value."""

    def __init__(self, client: SSMClient) -> None:
        self.client = client

    def read(self, name: str) -> str | None:
        """The parameter's value, or None when it does not exist."""
        try:
            return self.client.get_parameter(Name=name)["Parameter"].get("Value")
        except self.client.exceptions.ParameterNotFound:
            return None

    def write(self, name: str, value: str, description: str) -> int:
        """Overwrite the parameter; the tier follows the size (Intelligent-Tiering). Returns its version."""
        size = len(value.encode("utf-8"))
        if size > PARAMETER_LIMIT_BYTES:
            raise ParameterError(
                f"the value is {size:,} bytes; a parameter holds {PARAMETER_LIMIT_BYTES:,} at most "
                "(advanced tier): keep only what differs from the defaults"
            )
        response = self.client.put_parameter(
            Name=name,
            Value=value,
            Type="String",
            Overwrite=True,
            Tier="Intelligent-Tiering",
            Description=description,
        )
        return int(response["Version"])
