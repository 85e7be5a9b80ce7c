"""Links to a SageMaker resource in the AWS console, for messages and reports."""

from __future__ import annotations

from urllib.parse import quote

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
    """The resource's page in the SageMaker console (the service's home page for kinds it has no page for)."""
    parts = arn.split(":", 5)
    region = parts[3] if len(parts) == 6 else "us-east-1"
    kind, _, name = parts[-1].partition("/")
    home = f"https://{region}.console.aws.amazon.com/sagemaker/home?region={region}"
    page = _PAGES.get(kind)
    return f"{home}#/{page}/{quote(name, safe='')}" if page and name else home
