"""What the sweep and the enforcer may write: only keys absent under every spelling the policy accepts."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sagecost.domain.tag_policy import evaluate
from sagecost.domain.tags import normalise_key
from sagecost.models.config import KeyRule, Mode, PolicyKind, TagPolicy
from sagecost.services.tag_sweep import decide
from sagecost.services.tag_writes import without_present_keys

POLICY = TagPolicy(
    project=KeyRule(key="Project", aliases=("proj",), default="unassigned"),
    team=KeyRule(key="Team", default="unknown-team"),
    cost_center=KeyRule(key="CostCenter", aliases=("cost-centre",), default="cc-0000"),
    environment=KeyRule(
        key="Environment", aliases=("Env", "Stage"), allowed=("dev", "prod"), case="lower", default="dev"
    ),
    owner=KeyRule(key="Owner", default="nobody"),
    modes={PolicyKind.TRAINING_JOB: Mode.ENFORCE},
    default_mode=Mode.TAG,
)
SPELLINGS = ["Project", "project", "PROJ", "proj", "Team", "team", "Cost-Center", "cost_centre", "COSTCENTER"]
SPELLINGS += ["Environment", "env", "STAGE", "Owner", "owner", "Other", "sagemaker:domain-arn"]


@given(st.dictionaries(st.sampled_from(SPELLINGS), st.sampled_from(["", " ", "fraud", "dev", "prod", "x"])))
def test_no_addition_ever_replaces_a_value_under_any_spelling(tags: dict[str, str]) -> None:
    decision = decide(PolicyKind.NOTEBOOK_INSTANCE, tags, POLICY)
    present = {normalise_key(key) for key in tags}
    for attribute, rule in POLICY.rules().items():
        if rule.key in decision.additions:
            spellings = {normalise_key(key) for key in (rule.key, *rule.aliases)}
            assert not spellings & present, (attribute, tags, decision.additions)


def test_a_blank_value_is_left_and_stays_unresolved() -> None:
    decision = decide(PolicyKind.NOTEBOOK_INSTANCE, {"Project": " ", "Team": "risk"}, POLICY)
    assert "Project" not in decision.additions
    assert ("project", "missing") in {(f.attribute, f.problem) for f in decision.unresolved}
    assert decision.additions == {"CostCenter": "cc-0000", "Environment": "dev", "Owner": "nobody"}


def test_a_blank_environment_is_unknown_so_the_job_is_never_stopped() -> None:
    tags = {"env": "", "Project": "fraud", "Team": "risk", "CostCenter": "cc-1", "Owner": "alice"}
    decision = decide(PolicyKind.TRAINING_JOB, tags, POLICY)
    assert decision.additions == {} and decision.environment is None and not decision.stop


def test_a_key_already_holding_the_value_to_add_may_be_written_again() -> None:
    decision = evaluate(PolicyKind.NOTEBOOK_INSTANCE, {}, POLICY)
    same = without_present_keys(decision, {"Environment": "dev"}, POLICY)
    assert same.additions == decision.additions  # rewriting dev over dev changes nothing
    other = without_present_keys(decision, {"Environment": "prod"}, POLICY)
    assert "Environment" not in other.additions
