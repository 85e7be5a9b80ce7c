"""The tag policy, the creator's identity and the config file: pure rules, no AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sagecost.domain.tag_policy import MAX_TAGS_PER_RESOURCE, creator, evaluate
from sagecost.local.config_file import ConfigError, config_schema, load_config_file, parse_config
from sagecost.models.config import KeyRule, Mode, PolicyKind, SagecostConfig, TagPolicy

ALICE_SESSION = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:alice",
    "arn": "arn:aws:sts::111122223333:assumed-role/DataScientist/alice",
    "accountId": "111122223333",
}
POLICY = TagPolicy(
    project=KeyRule(key="Project", default="unassigned", patterns=(r"^[a-z][a-z0-9-]+$",), case="lower"),
    team=KeyRule(key="Team", allowed=("risk", "growth", "platform")),
    cost_center=KeyRule(key="CostCenter", patterns=(r"^cc-\d{4}$",), default="cc-0000"),
    environment=KeyRule(key="Environment", allowed=("dev", "prod"), case="lower", default="dev"),
    modes={PolicyKind.TRAINING_JOB: Mode.TAG, PolicyKind.PROCESSING_JOB: Mode.ENFORCE},
)


# === who created it ============================================================================


def test_an_assumed_role_session_names_its_owner() -> None:
    assert creator(ALICE_SESSION).owner == "alice"
    assert creator(ALICE_SESSION).source == "assumed-role"


def test_identity_center_iam_users_studio_profiles_and_source_identity() -> None:
    sso = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::1:assumed-role/AWSReservedSSO_DataSci_0123/bob@example.com",
    }
    assert (creator(sso).owner, creator(sso).source) == ("bob@example.com", "identity-center")
    user = {"type": "IAMUser", "arn": "arn:aws:iam::1:user/carol", "userName": "carol"}
    assert creator(user).owner == "carol"
    # Studio: a shared execution role, the person is in the system tag ...
    studio_tags = {"sagemaker:user-profile-arn": "arn:aws:sagemaker:us-east-1:1:user-profile/d-abc/dan"}
    assert creator(ALICE_SESSION, studio_tags).owner == "dan"
    # ... or in the session's source identity (ExecutionRoleIdentityConfig=USER_PROFILE_NAME)
    studio_session = {**ALICE_SESSION, "sessionContext": {"sourceIdentity": "erin"}}
    assert creator(studio_session).owner == "erin"
    assert creator({"type": "AWSService", "invokedBy": "sagemaker.amazonaws.com"}).owner is None
    assert creator(None).owner is None


# === the policy ================================================================================


def test_tag_mode_fills_what_is_missing_from_the_creator_and_the_defaults() -> None:
    # A training job created without Project by the session `alice`
    decision = evaluate(
        PolicyKind.TRAINING_JOB,
        {"Team": "risk", "CostCenter": "cc-1001"},
        POLICY,
        owner=creator(ALICE_SESSION).owner,
    )
    assert decision.mode is Mode.TAG and decision.apply_tags
    assert decision.additions == {"Project": "unassigned", "Environment": "dev", "Owner": "alice"}
    assert decision.sources["Owner"] == "the creator's identity"
    assert decision.unresolved == ()
    assert not decision.stop


def test_report_mode_says_what_it_would_add_but_adds_nothing() -> None:
    decision = evaluate(PolicyKind.ENDPOINT, {}, POLICY, owner="alice")
    assert decision.mode is Mode.REPORT
    assert "Owner" in decision.additions and not decision.apply_tags
    assert {f.key for f in decision.findings} == {"Project", "Team", "CostCenter", "Environment", "Owner"}


def test_inherited_tags_win_over_defaults_and_are_normalised() -> None:
    tuning_job = {"Project": "Fraud-Detection", "Team": "risk", "Environment": "PROD"}
    decision = evaluate(
        PolicyKind.TRAINING_JOB,
        {},
        POLICY,
        owner="alice",
        inherited=tuning_job,
        inherited_from="tuning job hpo-1",
    )
    assert decision.additions["Project"] == "fraud-detection"
    assert decision.additions["Environment"] == "prod"
    assert decision.sources["Team"] == "inherited from tuning job hpo-1"
    assert decision.production


def test_existing_values_are_never_overwritten_even_when_invalid() -> None:
    decision = evaluate(PolicyKind.TRAINING_JOB, {"team": "Marketing"}, POLICY, owner="alice")
    assert "Team" not in decision.additions
    (invalid,) = [f for f in decision.unresolved if f.problem == "invalid"]
    assert (invalid.key, invalid.value) == ("team", "Marketing")
    assert "not one of risk, growth, platform" in invalid.sentence(POLICY.team)


def test_enforce_stops_a_non_compliant_dev_job_but_never_production_nor_an_unknown_environment() -> None:
    bad_team = {"Project": "churn", "Team": "nobody", "CostCenter": "cc-2002", "Owner": "dan"}
    dev = evaluate(PolicyKind.PROCESSING_JOB, {**bad_team, "Environment": "dev"}, POLICY)
    prod = evaluate(PolicyKind.PROCESSING_JOB, {**bad_team, "Environment": "prod"}, POLICY)
    assert dev.stop
    assert not prod.stop and prod.production
    no_default = POLICY.model_copy(
        update={"environment": KeyRule(key="Environment", allowed=("dev", "prod"))}
    )
    unknown = evaluate(PolicyKind.PROCESSING_JOB, bad_team, no_default)
    assert unknown.environment is None and not unknown.stop


def test_only_jobs_can_be_enforced() -> None:
    with pytest.raises(ValueError, match="only training, processing and transform jobs can be stopped"):
        TagPolicy(modes={PolicyKind.ENDPOINT: Mode.ENFORCE})


def test_system_tags_are_never_counted_as_business_tags_nor_written() -> None:
    studio = {
        "sagemaker:domain-arn": "arn:aws:sagemaker:us-east-1:1:domain/d-1",
        "aws:cloudformation:stack-name": "x",
    }
    decision = evaluate(PolicyKind.TRAINING_JOB, studio, POLICY, owner="alice")
    assert not any(key.startswith(("aws:", "sagemaker:")) for key in decision.additions)
    with pytest.raises(ValueError, match="system tag key"):
        KeyRule(key="sagemaker:project")


@given(existing=st.integers(min_value=0, max_value=MAX_TAGS_PER_RESOURCE))
def test_additions_never_take_a_resource_past_fifty_tags(existing: int) -> None:
    tags = {f"k{i}": "v" for i in range(existing)}
    decision = evaluate(PolicyKind.TRAINING_JOB, tags, POLICY, owner="alice")
    assert existing + len(decision.additions) <= MAX_TAGS_PER_RESOURCE
    assert len(decision.additions) + len(decision.over_limit) == 4  # Team has no default: it stays missing
    if decision.over_limit:
        assert {f.key for f in decision.unresolved} >= set(decision.over_limit)


def test_a_key_claimed_by_two_attributes_is_refused() -> None:
    with pytest.raises(ValueError, match="claimed by both"):
        TagPolicy(team=KeyRule(key="Team", aliases=("Project",)))


# === the config file ==========================================================================


def test_config_errors_name_the_line_to_fix(tmp_path: Path) -> None:
    path = tmp_path / "sagecost.yaml"
    path.write_text(
        "tags:\n"
        "  project:\n"
        "    key: Project\n"
        '    patterns: ["^[a-z"]\n'
        "  modes:\n"
        "    training-job: tag\n"
        "    notebook: report\n"
        "  grace_period_minutes: -5\n"
    )
    with pytest.raises(ConfigError) as raised:
        load_config_file(path)
    problems = raised.value.problems
    assert any(
        p.startswith(f"{path}:4: tags.project.patterns") and "not a regular expression" in p for p in problems
    )
    assert any(p.startswith(f"{path}:7: tags.modes.notebook") for p in problems)
    assert any(p.startswith(f"{path}:8: tags.grace_period_minutes") for p in problems)


def test_broken_yaml_and_a_missing_file_are_reported_plainly(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"<config>:3: not valid YAML"):
        parse_config("tags:\n  project: [unclosed\n")
    with pytest.raises(ConfigError, match="cannot read it"):
        load_config_file(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match="a mapping of settings, not a list"):
        parse_config("- a\n- b\n")


def test_a_json_config_and_the_defaults_load() -> None:
    config = parse_config(json.dumps({"tags": {"default_mode": "tag"}}))
    assert config.tags.mode_for(PolicyKind.MODEL) is Mode.TAG
    assert parse_config("") == SagecostConfig()


def test_the_schema_describes_the_policy_for_editors() -> None:
    schema = json.loads(config_schema())
    assert schema["title"] == "sagecost configuration"
    assert "KeyRule" in schema["$defs"] and "TagPolicy" in schema["$defs"]
    assert set(schema["$defs"]["Mode"]["enum"]) == {"report", "tag", "enforce"}


def test_a_function_with_an_invalid_config_says_what_is_wrong() -> None:
    from sagecost.adapters.parameters import ParameterError, config_from_json

    pushed = json.dumps({"tags": {"modes": {"endpoint": "enforce"}}})
    with pytest.raises(ParameterError, match="only training, processing and transform jobs") as raised:
        config_from_json(pushed, where="SSM parameter /sagecost/prod/config")
    assert "sagecost config push" in str(raised.value)
