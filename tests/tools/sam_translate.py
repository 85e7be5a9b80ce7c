"""Translate template.yaml to plain CloudFormation, offline, with aws-sam-translator. Runs in the tools
virtualenv `.venv-tools` (aws-sam-cli pins the translator, which pins pydantic ~=2.13, below the project's
pin), not in the project's: `make deploy-check` creates it.

    .venv-tools/bin/python tests/tools/sam_translate.py template.yaml s3://bucket/key > cloudformation.json

Local `CodeUri`/`ContentUri` folders are replaced by the given S3 object first (what `sam package` would
upload). No managed policy is referenced by name in the template, so the loader that resolves names to
ARNs through IAM is never needed: it returns an empty map instead of calling AWS.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse


class NoManagedPolicies:
    def load(self) -> dict[str, str]:
        return {}


def with_code_at(template: dict[str, Any], uri: str) -> dict[str, Any]:
    function_globals = template.get("Globals", {}).get("Function", {})
    if "CodeUri" in function_globals:
        function_globals["CodeUri"] = uri
    for resource in template["Resources"].values():
        properties = resource.get("Properties") or {}
        if resource["Type"] == "AWS::Serverless::Function" and "CodeUri" in properties:
            properties["CodeUri"] = uri
        if resource["Type"] == "AWS::Serverless::LayerVersion":
            properties["ContentUri"] = uri
    return template


def main(template_path: str, code_uri: str) -> None:
    template = with_code_at(yaml_parse(Path(template_path).read_text(encoding="utf-8")), code_uri)
    json.dump(transform(template, {}, NoManagedPolicies()), sys.stdout)


if __name__ == "__main__":
    main(*sys.argv[1:3])
