"""Links to a SageMaker resource in the AWS console, for messages and reports."""

from __future__ import annotations

import re
from urllib.parse import quote

REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
"""An AWS Region code (`us-east-1`, `us-gov-west-1`, `ap-southeast-7`): the shape of every partition's
`regionRegex` in botocore's partitions.json, ASCII only. Anything else in an ARN's region field was not
written by AWS, and must not choose the host of a link."""

_PAGES = {
    "training-job": "jobs",
    "processing-job": "processing-jobs",
    "transform-job": "transform-jobs",
    "hyper-parameter-tuning-job": "hyper-tuning-jobs",
    "endpoint": "endpoints",
    "notebook-instance": "notebook-instances",
}


def resource_type(arn: str) -> str:
    """`arn:aws:sagemaker:eu-west-1:123:training-job/x` -> `training-job`."""
    return arn.split(":", 5)[-1].split("/", 1)[0]


def console_url(arn: str) -> str:
    """The resource's page in the SageMaker console (the service's home page for kinds it has no page for);
    "" (no link) when the ARN's region is not an AWS Region code."""
    parts = arn.split(":", 5)
    region = parts[3] if len(parts) == 6 else "us-east-1"
    if REGION.fullmatch(region) is None:
        return ""
    kind, _, name = parts[-1].partition("/")
    home = f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
    page = _PAGES.get(kind)
    return f"{home}#/{page}/{quote(name, safe='')}" if page and name else home
