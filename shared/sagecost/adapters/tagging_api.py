"""The Resource Groups Tagging API: every tagged SageMaker resource's tags, 100 per request.

A bulk view to find candidates, never a basis to write on: it is eventually consistent (a tag set moments ago
may be missing) and lists only resources that have or had tags. Writers read ListTags first (tag_writes).
`ResourceTypeFilters=["sagemaker"]` takes every SageMaker resource type (GetResources supports all types),
spaces, user profiles, inference components, clusters and MLflow servers included; the SageMaker List calls
(`Boto3SageMaker.governed_resources`) find the untagged ones, absent here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mypy_boto3_resourcegroupstaggingapi import ResourceGroupsTaggingAPIClient


class ResourceTags:
    def __init__(self, client: ResourceGroupsTaggingAPIClient) -> None:
        self.client = client

    def sagemaker_tags(self) -> dict[str, dict[str, str]]:
        """ARN -> tags for every SageMaker resource that has a tag (untagged ones are not listed)."""
        # 100 resources a page (the API's maximum) and room for their tags: TagsPerPage also limits a
        # page, by tag count (100 by default, 500 at most), so the default would give 20 resources a page
        pages = self.client.get_paginator("get_resources").paginate(
            ResourceTypeFilters=["sagemaker"], TagsPerPage=500, PaginationConfig={"PageSize": 100}
        )
        return {
            mapping["ResourceARN"]: {tag["Key"]: tag["Value"] for tag in mapping.get("Tags", [])}
            for page in pages
            for mapping in page.get("ResourceTagMappingList", [])
        }
