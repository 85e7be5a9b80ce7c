"""CloudFormation: what a deployed sagecost stack is called inside (its outputs) and how it was deployed
(its parameters), for the commands that work on a stack (`config push`, `prices push`, `reprice`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from sagecost.domain.deployment import StackConditions

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient


class StackError(RuntimeError):
    """The stack cannot be read, or lacks what sagecost needs: the message says what to do."""


@dataclass(frozen=True)
class Stack:
    name: str
    outputs: dict[str, str]
    parameters: dict[str, str]

    def output(self, key: str) -> str:
        try:
            return self.outputs[key]
        except KeyError:
            raise StackError(
                f"stack {self.name} has no output {key}: deploy this version of template.yaml "
                "(`sam build && sam deploy`)"
            ) from None

    def conditions(self) -> StackConditions:
        def listed(key: str) -> tuple[str, ...]:
            return tuple(v.strip() for v in self.parameters.get(key, "").split(",") if v.strip())

        return StackConditions(
            policy_tag_keys=listed("PolicyTagKeys"), production_values=listed("ProductionEnvironmentValues")
        )


def read_stack(client: CloudFormationClient, name: str) -> Stack:
    """The stack's outputs and parameters (one DescribeStacks)."""
    try:
        described = client.describe_stacks(StackName=name)["Stacks"][0]
    except ClientError as error:
        raise StackError(
            f"cannot read stack {name}: {error.response['Error'].get('Message', error)} "
            "(check --stack, --region and your credentials)"
        ) from None
    return Stack(
        name=name,
        outputs={o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])},
        parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in described.get("Parameters", [])},
    )
