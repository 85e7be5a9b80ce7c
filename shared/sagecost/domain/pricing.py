"""Rate lookups over a price catalog."""

from __future__ import annotations

from collections.abc import Mapping

from sagecost.models.prices import Component, Price, PriceCatalog


class PriceBook:
    """An index over a catalog: (region, component, instance type) -> Price, or None when unknown."""

    def __init__(self, catalog: PriceCatalog) -> None:
        self.catalog = catalog
        self._by_key: Mapping[tuple[str, Component, str], Price] = {p.key: p for p in catalog.prices}

    def rate(self, region: str, component: Component, instance_type: str) -> Price | None:
        return self._by_key.get((region, component, instance_type))

    def __len__(self) -> int:
        return len(self._by_key)
