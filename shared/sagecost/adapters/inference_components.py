"""Inference components for the hourly sweep: ListInferenceComponents per endpoint (pages of 100),
DescribeInferenceComponent and ListTags only for a component the ledger has not heard of.

moto has no inference components; tests and the simulator use `sagecost.local.fake_inference_components`,
which answers with the real API's shapes and errors."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.exceptions import ClientError

from sagecost.adapters.sagemaker import Boto3SageMaker, InferenceComponentSummary, _not_found


class InferenceComponentReader(Protocol):
    def inference_components(self, endpoint_name: str) -> list[InferenceComponentSummary]: ...
    def inference_component(self, name: str) -> dict[str, Any] | None: ...
    def tags(self, arn: str) -> dict[str, str] | None: ...


class Boto3InferenceComponents:
    """InferenceComponentReader over a boto3 SageMaker client (or the local fake)."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self._reader = Boto3SageMaker(client)

    def inference_components(self, endpoint_name: str) -> list[InferenceComponentSummary]:
        return self._reader.inference_components(endpoint_name)

    def inference_component(self, name: str) -> dict[str, Any] | None:
        """DescribeInferenceComponent's response (None: it no longer exists)."""
        try:
            return dict(self.client.describe_inference_component(InferenceComponentName=name))
        except ClientError as error:
            if _not_found(error):
                return None
            raise

    def tags(self, arn: str) -> dict[str, str] | None:
        return self._reader.tags(arn)
