"""Usage-type groups: the grain at which the month's metered cost is held against the bill.

Cost Explorer's `USAGE_TYPE` dimension names what a line of the bill is for, as
`[<REGION>-]<kind>:<detail>`; the region prefix (`USE1-`, `USW2-`, `EU-`, `APS3-`, ...) is absent on some
us-east-1 lines. The kinds read here, and where each spelling was seen:

- Training: `USE1-Train:ml.m5.large`, `APS3-Train:ml.r5.4xlarge` (AWS Price List `usagetype`, quoted by
  SatsyilCorp/compass-demo `docs/COST_MODEL.md` and the HBX814/AmazonMLChallenge Price List notes);
- Processing: `EU-Processing:ml.m5.large`; Batch transform: `USE1-Tsform:ml.m5.xlarge` (the Price List
  kinds `adapters/prices.py` reads);
- Real-time inference: `USE1-Host:ml.m5.large`, and without a prefix `Host:ml.m.xlarge-HostingParent` (the
  AWS Free Tier usage-type list; infracost `internal/resources/aws/sagemaker_endpoint_configuration.go`);
- Async inference: `USE1-AsyncInf:ml.g6e.2xlarge` (Price List offer file, quoted in public notes);
- Serverless inference: `USE2-ServerlessInf:Mem-4GB`, `ProvisionedConcurrency:Mem-4GB` (infracost,
  productFamily `ML Serverless`);
- Notebook instances: `USE1-Notebk:ml.t3.medium` (Price List notes; Free Tier list);
- Studio apps: `USE1-Studio:JupyterLab-ml.r6i.4xlarge`, `RStudio:RSessionGateway-ml.t3.medium` (the same);
- HyperPod: `USW2-Cluster:ml.p4d.24xlarge`, `ReservedCluster:...` (AWS Pricing API, quoted in public
  HyperPod CUR guides, which also give `<region>-Cluster:VolumeUsage.gp2` for its volumes);
- ML storage: `<kind>:VolumeUsage.gp2` of any kind, `Studio:VolumeUsage.gp3` (infracost
  `/Host:VolumeUsage.gp2/`; aws-samples/sagemaker-ssh-helper `Sample_Costs.md`, December 2023, prices ML
  storage per component);
- Data transfer/processed: `USE1-Host:Data-Bytes-In`, `...:Data-Bytes-Out` (infracost: group
  `Hosting:IN`/`OUT`, operation `Invoke-Endpoint`), and any `DataTransfer` line.

No public source found spells the usage types of training warm pools or of managed MLflow tracking servers
(the sagemaker-ssh-helper bill names "Training Warm Pool Job ML storage" in words only). They are matched
by keyword (`WarmPool`, `MLflow`, any case) and should be checked against a real bill. Anything not
recognised is Other: it is always counted, never dropped.

ML storage is one group, not one per component: the bill spells storage per kind (`Train:`, `Host:`, ...),
but warm-pool storage has no known spelling and Studio space storage (`gp3`) has no metered counterpart, so
a per-component split would show differences that are only naming.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Final

from sagecost.models.prices import Component


class UsageTypeGroup(StrEnum):
    TRAINING = "Training"
    TRAINING_WARM_POOL = "Training warm pool"
    PROCESSING = "Processing"
    BATCH_TRANSFORM = "Batch transform"
    REAL_TIME_INFERENCE = "Real-time inference"
    ASYNC_INFERENCE = "Async inference"
    SERVERLESS_INFERENCE = "Serverless inference"
    NOTEBOOK_INSTANCES = "Notebook instances"
    STUDIO_APPS = "Studio apps"
    HYPERPOD = "HyperPod"
    MLFLOW = "MLflow"
    ML_STORAGE = "ML storage"
    DATA = "Data transfer/processed"
    OTHER = "Other"


GROUP_ORDER: Final = tuple(UsageTypeGroup)
"""The order groups are listed in."""

_REGION_PREFIX: Final = re.compile(r"^[A-Z]{2,4}\d{0,2}-")
_DATA: Final = re.compile(r"data-?bytes|datatransfer|data-transfer", re.IGNORECASE)

_KINDS: Final[tuple[tuple[str, UsageTypeGroup], ...]] = (
    # (the kind's start, lower-cased; its group): first match wins, so longer names come first
    ("serverlessinf", UsageTypeGroup.SERVERLESS_INFERENCE),
    ("provisionedconcurrency", UsageTypeGroup.SERVERLESS_INFERENCE),
    ("asyncinf", UsageTypeGroup.ASYNC_INFERENCE),
    ("processing", UsageTypeGroup.PROCESSING),
    ("tsform", UsageTypeGroup.BATCH_TRANSFORM),
    ("train", UsageTypeGroup.TRAINING),
    ("host", UsageTypeGroup.REAL_TIME_INFERENCE),
    ("notebk", UsageTypeGroup.NOTEBOOK_INSTANCES),
    ("studio", UsageTypeGroup.STUDIO_APPS),
    ("rstudio", UsageTypeGroup.STUDIO_APPS),
    ("reservedcluster", UsageTypeGroup.HYPERPOD),
    ("cluster", UsageTypeGroup.HYPERPOD),
)

_COMPONENTS: Final[dict[Component, UsageTypeGroup]] = {
    Component.TRAINING: UsageTypeGroup.TRAINING,
    Component.TRAINING_WARM_POOL: UsageTypeGroup.TRAINING_WARM_POOL,
    Component.PROCESSING: UsageTypeGroup.PROCESSING,
    Component.BATCH_TRANSFORM: UsageTypeGroup.BATCH_TRANSFORM,
    Component.HOSTING: UsageTypeGroup.REAL_TIME_INFERENCE,
    Component.ASYNC_INFERENCE: UsageTypeGroup.ASYNC_INFERENCE,
    Component.SERVERLESS_INFERENCE: UsageTypeGroup.SERVERLESS_INFERENCE,
    Component.SERVERLESS_PROVISIONED: UsageTypeGroup.SERVERLESS_INFERENCE,
    Component.NOTEBOOK: UsageTypeGroup.NOTEBOOK_INSTANCES,
    Component.STUDIO_APP: UsageTypeGroup.STUDIO_APPS,
    Component.HYPERPOD: UsageTypeGroup.HYPERPOD,
    Component.MLFLOW: UsageTypeGroup.MLFLOW,
    Component.ML_STORAGE: UsageTypeGroup.ML_STORAGE,
}


def strip_region(usage_type: str) -> str:
    """`USE1-Train:ml.m5.xlarge` -> `Train:ml.m5.xlarge`; a usage type without a prefix is unchanged."""
    return _REGION_PREFIX.sub("", usage_type.strip(), count=1)


def group_of_usage_type(usage_type: str) -> UsageTypeGroup:
    """The group of one Cost Explorer `USAGE_TYPE` value (see the module's table); Other if unknown."""
    bare = strip_region(usage_type)
    kind, _, detail = bare.partition(":")
    lowered = bare.lower()
    if detail.startswith("VolumeUsage"):
        return UsageTypeGroup.ML_STORAGE
    if _DATA.search(bare):
        return UsageTypeGroup.DATA
    if "mlflow" in lowered:
        return UsageTypeGroup.MLFLOW
    if "warmpool" in lowered.replace("-", "").replace(" ", ""):
        return UsageTypeGroup.TRAINING_WARM_POOL
    head = kind.lower()
    return next((group for start, group in _KINDS if head.startswith(start)), UsageTypeGroup.OTHER)


def group_of_component(component: Component) -> UsageTypeGroup:
    """The group of what sagecost meters under `component` (ML storage of any component is ML storage)."""
    return _COMPONENTS.get(component, UsageTypeGroup.OTHER)
