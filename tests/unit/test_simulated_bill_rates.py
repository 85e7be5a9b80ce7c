"""The simulated account's invoice rates (`local/bill.py` SIMULATED_RATES) equal the shipped catalog's
wherever the catalog has a row, so priced usage is metered exactly what it is billed before discounts;
the rows the catalog lacks are the simulation's own inputs, and the catalog still lacks them (they stay
unpriced in the demo, never $0)."""

from __future__ import annotations

from sagecost.adapters.prices import load_catalog
from sagecost.local.bill import SIMULATED_RATES
from sagecost.models.prices import Component


def test_the_simulated_rates_are_the_catalogs_where_it_prices_and_inputs_where_it_does_not() -> None:
    catalog = {(p.region, Component(p.component), p.instance_type): p.usd for p in load_catalog().prices}
    priced = {key: rate for key, rate in SIMULATED_RATES.items() if key in catalog}
    assert priced == {key: catalog[key] for key in priced}
    unpriced = {(component, instance_type) for (_, component, instance_type) in SIMULATED_RATES} - {
        (component, instance_type) for (_, component, instance_type) in priced
    }
    assert unpriced == {
        (Component.TRAINING, "ml.r7i.8xlarge"),
        (Component.TRAINING_WARM_POOL, "ml.m5.xlarge"),
        (Component.STUDIO_APP, "ml.g5.xlarge"),
        (Component.ML_STORAGE, "gp2.training"),
        (Component.ML_STORAGE, "gp2.processing"),
        (Component.ML_STORAGE, "gp2.studio-app"),
        (Component.SERVERLESS_PROVISIONED, "serverless-4096mb"),
        (Component.SERVERLESS_INFERENCE, "serverless-4096mb"),
        (Component.HYPERPOD, "ml.g5.2xlarge"),
        (Component.HYPERPOD, "ml.m5.xlarge"),
        (Component.MLFLOW, "Small"),
    }
