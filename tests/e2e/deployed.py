"""template.yaml deployed without AWS: translated offline by aws-sam-translator (in `.venv-tools`), then
created as a CloudFormation stack on moto, in-process.

`DeployedStack` is what a test needs of the result: outputs, each resource's physical id, each function's
environment as Lambda would give it, and `resolve`, which evaluates the template's intrinsic functions
(`Ref`, `Fn::GetAtt`, `Fn::Sub`, `Fn::Join`) against this stack's physical ids, e.g. to read the IAM
statements of a function's role the way they were deployed.

moto creates the plain resources and silently skips some types (`SKIPPED_BY_MOTO`); a stack whose only
missing resources are of those types is what a real deploy would create, minus them.
"""

from __future__ import annotations

import copy
import importlib
import io
import json
import os
import re
import subprocess
import warnings
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
from moto.backends import get_backend

from sagecost import wiring

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
TRANSLATE = ROOT / "tests" / "tools" / "sam_translate.py"
TOOLS_PYTHON_VARIABLE = "SAGECOST_TOOLS_PYTHON"
ARTIFACTS_BUCKET, ARTIFACTS_KEY = "sagecost-deploy-artifacts", "sagecost/code.zip"
STACK_NAME = "sagecost-e2e"
REGION, ACCOUNT, PARTITION = "us-east-1", "123456789012", "aws"

SKIPPED_BY_MOTO = frozenset(
    {
        "AWS::Scheduler::Schedule",  # the five ScheduleV2 events (SAM also makes their roles: those exist)
        "AWS::SQS::QueuePolicy",
        "AWS::S3::BucketPolicy",
        "AWS::CloudWatch::Alarm",
    }
)
"""Resource types moto 5.2.5's CloudFormation accepts and never creates ("No Moto CloudFormation support")."""


def tools_python() -> Path:
    """The tools virtualenv's interpreter (aws-sam-translator lives there, with the SAM CLI)."""
    configured = os.environ.get(TOOLS_PYTHON_VARIABLE)
    return Path(configured) if configured else ROOT / ".venv-tools" / "bin" / "python"


def translate(template: Path = TEMPLATE) -> dict[str, Any]:
    """The SAM template as the CloudFormation template the Serverless transform makes of it."""
    result = subprocess.run(
        [str(tools_python()), str(TRANSLATE), str(template), f"s3://{ARTIFACTS_BUCKET}/{ARTIFACTS_KEY}"],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ.get("PATH", ""), "AWS_DEFAULT_REGION": REGION},
        timeout=120,
    )
    if result.returncode != 0:
        raise RuntimeError(f"aws-sam-translator failed:\n{result.stderr}")
    translated: dict[str, Any] = json.loads(result.stdout)
    return translated


def _code_zip() -> bytes:
    """A stand-in for the built code: Lambda only needs a zip (moto never runs it; tests call handlers)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("README.txt", "handlers run in-process in the tests")
    return buffer.getvalue()


@dataclass(frozen=True)
class DeployedStack:
    name: str
    template: dict[str, Any]
    """The translated (plain CloudFormation) template this stack was created from."""
    outputs: dict[str, str]
    physical_ids: dict[str, str]
    """logical id -> physical id of every resource moto created."""
    environments: dict[str, dict[str, str]] = field(default_factory=dict)
    """function logical id -> its environment variables, as deployed (read back from Lambda)."""
    skipped_types: frozenset[str] = frozenset()
    """Resource types moto said it does not create (its "not supported" warnings during create_stack)."""

    @property
    def resources(self) -> dict[str, Any]:
        resources: dict[str, Any] = self.template["Resources"]
        return resources

    def of_type(self, resource_type: str) -> list[str]:
        return sorted(lid for lid, resource in self.resources.items() if resource["Type"] == resource_type)

    @property
    def functions(self) -> list[str]:
        return self.of_type("AWS::Lambda::Function")

    def lambda_environment(self, function: str) -> dict[str, str]:
        """What the Lambda runtime would set for this function (its variables, region, fake credentials)."""
        return {
            **self.environments[function],
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_LAMBDA_FUNCTION_NAME": self.physical_ids[function],
        }

    def use(self, function: str, monkeypatch: Any) -> None:
        """Give the process this function's environment and start it cold: its handler module is imported
        anew, so its settings (read at import, as in Lambda) are this deployment's."""
        for name, value in self.lambda_environment(function).items():
            monkeypatch.setenv(name, value)
        wiring.reset()
        handler = str(self.resources[function]["Properties"]["Handler"]).rsplit(".", 1)[0]
        importlib.reload(importlib.import_module(handler))

    def push_config(self, document: str, output: str = "ConfigParameterName") -> None:
        """Write the stack's config parameter (or, with output="PricesParameterName", its price overrides)
        as `sagecost config push` does."""
        boto3.client("ssm", region_name=REGION).put_parameter(
            Name=self.outputs[output], Value=document, Type="String", Overwrite=True
        )

    # --- intrinsic functions ------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """`value` with every intrinsic function evaluated against this stack."""
        if isinstance(value, list):
            return [self.resolve(item) for item in value]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((name, argument),) = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._intrinsic(name, argument)
        return {key: self.resolve(item) for key, item in value.items()}

    def _intrinsic(self, name: str, argument: Any) -> Any:
        if name == "Ref":
            return self._ref(argument)
        if name == "Fn::GetAtt":
            logical_id, attribute = argument if isinstance(argument, list) else argument.split(".", 1)
            return self.getatt(logical_id, attribute)
        if name == "Fn::Sub":
            text, variables = (argument, {}) if isinstance(argument, str) else argument
            return self._sub(text, {k: self.resolve(v) for k, v in variables.items()})
        if name == "Fn::Join":
            separator, items = argument
            return separator.join(str(item) for item in self.resolve(items))
        raise NotImplementedError(f"{name} is not resolved by the deploy check")

    def _ref(self, name: str) -> Any:
        pseudo = {
            "AWS::Region": REGION,
            "AWS::AccountId": ACCOUNT,
            "AWS::Partition": PARTITION,
            "AWS::StackName": self.name,
            "AWS::URLSuffix": "amazonaws.com",
        }
        if name in pseudo:
            return pseudo[name]
        if name in self.physical_ids:
            return self.physical_ids[name]
        parameter = self.template.get("Parameters", {}).get(name)
        if parameter is None:
            raise KeyError(f"Ref {name}: neither a resource moto created nor a parameter")
        default = parameter.get("Default")
        return default.split(",") if parameter["Type"] == "CommaDelimitedList" else default

    def _sub(self, text: str, variables: Mapping[str, Any]) -> str:
        def replace(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return str(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, attribute = name.split(".", 1)
                return str(self.getatt(logical_id, attribute))
            return str(self._ref(name))

        return re.sub(r"\$\{([^}]+)\}", replace, text)

    def getatt(self, logical_id: str, attribute: str) -> str:
        resource_type = self.resources[logical_id]["Type"]
        physical = self.physical_ids[logical_id]
        attributes: dict[str, str] = {}
        if resource_type == "AWS::SQS::Queue":
            queue_name = physical.rsplit("/", 1)[1]
            attributes = {
                "Arn": f"arn:{PARTITION}:sqs:{REGION}:{ACCOUNT}:{queue_name}",
                "QueueName": queue_name,
            }
        elif resource_type == "AWS::DynamoDB::Table":
            table = boto3.client("dynamodb", region_name=REGION).describe_table(TableName=physical)["Table"]
            attributes = {"Arn": table["TableArn"], "StreamArn": table.get("LatestStreamArn", "")}
        elif resource_type == "AWS::IAM::Role":
            attributes = {"Arn": boto3.client("iam").get_role(RoleName=physical)["Role"]["Arn"]}
        else:
            arns = {
                "AWS::KMS::Key": f"arn:{PARTITION}:kms:{REGION}:{ACCOUNT}:key/{physical}",
                "AWS::S3::Bucket": f"arn:{PARTITION}:s3:::{physical}",
                "AWS::Events::Rule": f"arn:{PARTITION}:events:{REGION}:{ACCOUNT}:rule/{physical}",
                "AWS::Lambda::Function": f"arn:{PARTITION}:lambda:{REGION}:{ACCOUNT}:function:{physical}",
            }
            if resource_type in arns:
                attributes = {"Arn": arns[resource_type]}
        if attribute not in attributes:
            raise NotImplementedError(f"Fn::GetAtt {logical_id}.{attribute} ({resource_type})")
        return attributes[attribute]

    # --- IAM ----------------------------------------------------------------------------------

    def role_of(self, function: str) -> str:
        role = self.resources[function]["Properties"]["Role"]
        logical_id: str = role["Fn::GetAtt"][0]
        return logical_id

    def role_statements(self, function: str) -> list[dict[str, Any]]:
        """Every statement of the inline policies of the function's role, resolved against this stack."""
        role = self.resources[self.role_of(function)]["Properties"]
        return [
            statement
            for policy in role.get("Policies", [])
            for statement in _as_list(self.resolve(policy["PolicyDocument"])["Statement"])
        ]

    def managed_policy_arns(self, function: str) -> list[str]:
        arns: list[str] = self.resolve(
            self.resources[self.role_of(function)]["Properties"].get("ManagedPolicyArns", [])
        )
        return arns


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def deploy(template: dict[str, Any], name: str = STACK_NAME) -> DeployedStack:
    """Create the stack on moto (call inside `mock_aws`): the code object first, as `sam package` would."""
    s3 = boto3.client("s3", region_name=REGION)
    s3.create_bucket(Bucket=ARTIFACTS_BUCKET)
    s3.put_object(Bucket=ARTIFACTS_BUCKET, Key=ARTIFACTS_KEY, Body=_code_zip())
    cloudformation = boto3.client("cloudformation", region_name=REGION)
    with warnings.catch_warnings(record=True) as caught:  # moto warns of each type it does not create
        warnings.simplefilter("always")
        cloudformation.create_stack(
            StackName=name,
            TemplateBody=json.dumps(template),
            Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
        )
        (described,) = cloudformation.describe_stacks(StackName=name)["Stacks"]
        summaries = list(_stack_resources(cloudformation, name))
    unsupported = re.compile(r"Tried to parse (\S+) but it's not supported by moto's CloudFormation")
    skipped = frozenset(m.group(1) for w in caught if (m := unsupported.search(str(w.message))))
    if described["StackStatus"] != "CREATE_COMPLETE":
        raise RuntimeError(f"stack {name}: {described['StackStatus']} {described.get('StackStatusReason')}")
    stack = DeployedStack(
        name=name,
        template=copy.deepcopy(template),
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        physical_ids={s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries},
        skipped_types=skipped,
    )
    functions = boto3.client("lambda", region_name=REGION)
    for function in stack.functions:
        configuration = functions.get_function_configuration(FunctionName=stack.physical_ids[function])
        stack.environments[function] = dict(configuration.get("Environment", {}).get("Variables", {}))
    return stack


def _stack_resources(cloudformation: Any, name: str) -> Iterator[dict[str, Any]]:
    for page in cloudformation.get_paginator("list_stack_resources").paginate(StackName=name):
        for summary in page["StackResourceSummaries"]:
            if summary["ResourceStatus"] == "CREATE_COMPLETE":
                yield summary


def pause_event_sources() -> list[str]:
    """Switch off the stack's event source mappings (their UUIDs returned): tests hand queue messages and
    stream records to the handlers themselves.

    moto "invokes" a mapped function (its code never runs here) as soon as a message arrives and then
    deletes the message, so SQS mappings are disabled, which moto honours. moto invokes a DynamoDB stream's
    mapping on every write whatever its state (and, without Docker, shells out looking for it), so the
    stream mappings are also detached from moto's table.
    """
    functions = boto3.client("lambda", region_name=REGION)
    paused = []
    for mapping in functions.list_event_source_mappings()["EventSourceMappings"]:
        functions.update_event_source_mapping(UUID=mapping["UUID"], Enabled=False)
        paused.append(mapping["UUID"])
        if ":dynamodb:" in mapping["EventSourceArn"]:
            table_name = mapping["EventSourceArn"].split(":table/", 1)[1].split("/", 1)[0]
            table = get_backend("dynamodb")[ACCOUNT][REGION].get_table(table_name)
            table.lambda_event_source_mappings.clear()
    return paused
