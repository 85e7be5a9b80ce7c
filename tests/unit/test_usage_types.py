"""Usage-type groups: Cost Explorer's USAGE_TYPE values and sagecost's components land in the same groups,
and the reconciliation per group is in whole cents whose columns add up to their totals."""

from __future__ import annotations

from decimal import Decimal

import pytest

from sagecost.domain.allocation import group_variances, split_cents
from sagecost.domain.usage_types import UsageTypeGroup, group_of_component, group_of_usage_type
from sagecost.local.bill import usage_type
from sagecost.models.ledger import ResourceLine
from sagecost.models.prices import Component, serverless_type, storage_type

G = UsageTypeGroup


@pytest.mark.parametrize(
    ("spelled", "group"),
    [
        ("USE1-Train:ml.m5.xlarge", G.TRAINING),
        ("APS3-Train:ml.r5.4xlarge", G.TRAINING),
        ("Train:ml.m5.large", G.TRAINING),  # us-east-1 may come without a prefix
        ("EU-Host:ml.g4dn.xlarge", G.REAL_TIME_INFERENCE),
        ("Host:ml.m5.large", G.REAL_TIME_INFERENCE),
        ("Host:ml.m.xlarge-HostingParent", G.REAL_TIME_INFERENCE),
        ("USE1-Notebk:ml.t3.medium", G.NOTEBOOK_INSTANCES),
        ("USE1-Studio:JupyterLab-ml.r6i.4xlarge", G.STUDIO_APPS),
        ("USE1-Studio:ml.g5.8xlarge", G.STUDIO_APPS),
        ("RStudio:RSessionGateway-ml.t3.medium-RSessionGatewayParent", G.STUDIO_APPS),
        ("EU-Processing:ml.m5.large", G.PROCESSING),
        ("USE1-Tsform:ml.m5.xlarge", G.BATCH_TRANSFORM),
        ("USE1-AsyncInf:ml.g6e.2xlarge", G.ASYNC_INFERENCE),
        ("USE2-ServerlessInf:Mem-4GB", G.SERVERLESS_INFERENCE),
        ("USE1-ProvisionedConcurrency:Mem-2GB", G.SERVERLESS_INFERENCE),
        ("USW2-Cluster:ml.p4d.24xlarge", G.HYPERPOD),
        ("USE1-ReservedCluster:ml.g5.8xlarge", G.HYPERPOD),
        ("USE1-Train-WarmPool:ml.m5.xlarge", G.TRAINING_WARM_POOL),
        ("USE1-MLflow-TrackingServer:Small", G.MLFLOW),
        ("USE1-Train:VolumeUsage.gp2", G.ML_STORAGE),
        ("EU-Host:VolumeUsage.gp2", G.ML_STORAGE),
        ("Notebk:VolumeUsage.gp2", G.ML_STORAGE),
        ("USE1-Studio:VolumeUsage.gp3", G.ML_STORAGE),
        ("USW2-Cluster:VolumeUsage.gp2", G.ML_STORAGE),
        ("USE1-Host:Data-Bytes-In", G.DATA),
        ("EU-Host:Data-Bytes-Out", G.DATA),
        ("USE1-DataTransfer-Out-Bytes", G.DATA),
        ("USE1-GroundTruth:LabeledObject", G.OTHER),
        ("FeatureStore:WriteRequestUnitsParent", G.OTHER),
        ("", G.OTHER),
        ("something new", G.OTHER),
    ],
)
def test_each_usage_type_has_its_group_and_an_unknown_one_is_other(spelled: str, group: G) -> None:
    assert group_of_usage_type(spelled) is group


def test_every_component_has_a_group_and_storage_is_one_group() -> None:
    groups = {component: group_of_component(component) for component in Component}
    assert G.OTHER not in groups.values()
    assert groups[Component.ML_STORAGE] is G.ML_STORAGE
    assert groups[Component.SERVERLESS_PROVISIONED] is groups[Component.SERVERLESS_INFERENCE]
    assert groups[Component.TRAINING_WARM_POOL] is G.TRAINING_WARM_POOL


def line(component: Component, instance_type: str, region: str = "us-east-1") -> ResourceLine:
    arn = f"arn:aws:sagemaker:{region}:123456789012:training-job/x"
    return ResourceLine(arn, component, instance_type, "instance-hour", "p", "t", "c", "dev")


@pytest.mark.parametrize("component", list(Component))
def test_the_simulated_bills_usage_type_of_a_component_is_in_the_components_group(
    component: Component,
) -> None:
    instance = {
        Component.ML_STORAGE: storage_type(Component.TRAINING),
        Component.SERVERLESS_INFERENCE: serverless_type(4096),
        Component.SERVERLESS_PROVISIONED: serverless_type(2048),
        Component.MLFLOW: "Small",
    }.get(component, "ml.m5.xlarge")
    spelled = usage_type(line(component, instance))
    assert spelled.startswith("USE1-")
    assert group_of_usage_type(spelled) is group_of_component(component)


def test_the_simulated_usage_types_read_like_the_real_ones() -> None:
    assert usage_type(line(Component.TRAINING, "ml.m5.xlarge")) == "USE1-Train:ml.m5.xlarge"
    assert usage_type(line(Component.HOSTING, "ml.g4dn.xlarge", "eu-west-1")) == "EU-Host:ml.g4dn.xlarge"
    assert usage_type(line(Component.ML_STORAGE, storage_type(Component.HOSTING))) == (
        "USE1-Host:VolumeUsage.gp2"
    )
    assert usage_type(line(Component.SERVERLESS_INFERENCE, serverless_type(4096))) == (
        "USE1-ServerlessInf:Mem-4GB"
    )
    assert usage_type(line(Component.TRAINING, "ml.m5.xlarge", "xx-nowhere-9")) == "Train:ml.m5.xlarge"


def test_split_cents_rounds_the_total_once_and_the_parts_add_up_to_it() -> None:
    parts, total = split_cents([Decimal("0.333333"), Decimal("0.333333"), Decimal("0.333334")])
    assert total == Decimal("1.00")
    assert sum(parts) == total  # rounding each would give 0.99
    assert parts == [Decimal("0.33"), Decimal("0.33"), Decimal("0.34")]
    # a credit cannot weigh a largest-remainder split: each part is rounded and the total is their sum
    parts, total = split_cents([Decimal("10.004"), Decimal("-2.006")])
    assert (parts, total) == ([Decimal("10.00"), Decimal("-2.01")], Decimal("7.99"))
    assert split_cents([Decimal(0), Decimal(0)]) == ([Decimal("0.00")] * 2, Decimal("0.00"))


def test_group_variances_add_up_and_say_how_much_of_the_bill_is_metered() -> None:
    # Given training metered at list price above a discounted bill, storage metered exactly, serverless
    # inference and data processed billed but not metered, and a notebook with unpriced usage
    metered = {
        G.TRAINING: Decimal("100.004"),
        G.ML_STORAGE: Decimal("2.003333"),
        G.NOTEBOOK_INSTANCES: Decimal("1.002222"),
    }
    billed = {
        G.TRAINING: Decimal("88.0049"),
        G.ML_STORAGE: Decimal("2.0033"),
        G.SERVERLESS_INFERENCE: Decimal("4.80"),
        G.DATA: Decimal("1.60"),
        G.NOTEBOOK_INSTANCES: Decimal("3.00"),
    }

    result = group_variances(
        metered,
        billed,
        unpriced_records={G.NOTEBOOK_INSTANCES: 2},
        usage_types={G.TRAINING: ["USE1-Train:ml.m5.xlarge", "Train:ml.m5.large"]},
    )

    rows = {row.group: row for row in result.rows}
    # groups come in the enum's order, whichever side knows them
    assert [row.group for row in result.rows] == [
        G.TRAINING,
        G.SERVERLESS_INFERENCE,
        G.NOTEBOOK_INSTANCES,
        G.ML_STORAGE,
        G.DATA,
    ]
    assert sum(row.metered for row in result.rows) == result.metered == Decimal("103.01")
    assert sum(row.billed for row in result.rows) == result.billed == Decimal("99.41")
    assert rows[G.TRAINING].difference == rows[G.TRAINING].metered - rows[G.TRAINING].billed
    assert rows[G.SERVERLESS_INFERENCE].metered == Decimal("0.00")
    assert rows[G.SERVERLESS_INFERENCE].metered_share_pct == Decimal("0.00")
    assert rows[G.ML_STORAGE].metered_share_pct == Decimal("100.00")
    assert rows[G.NOTEBOOK_INSTANCES].unpriced_records == 2
    assert rows[G.TRAINING].usage_types == ("Train:ml.m5.large", "USE1-Train:ml.m5.xlarge")
    assert result.metered_share_pct == Decimal("103.62")  # 103.01 / 99.41


def test_a_group_only_the_meter_knows_has_no_share() -> None:
    result = group_variances({G.MLFLOW: Decimal("1.50")}, {})
    (row,) = result.rows
    assert (row.metered, row.billed, row.metered_share_pct) == (Decimal("1.50"), Decimal("0.00"), None)
    assert result.metered_share_pct is None
