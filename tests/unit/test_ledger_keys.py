"""Ledger keys built from what users and events spell: exact to read back, never shared by two values,
within DynamoDB's key limits, and the same as before for every ordinary value."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sagecost.adapters.ledger import (
    PARTITION_KEY_BYTES,
    SORT_KEY_BYTES,
    bounded_key,
    resource_pk,
)
from sagecost.domain.tags import forbidden_tag
from sagecost.models.ledger import UNTAGGED, Dimension, ResourceLine, TagSnapshot, join_key, split_key
from sagecost.models.prices import Component

ARN = "arn:aws:sagemaker:us-east-1:123456789012:endpoint/fraud-scorer"
parts = st.lists(
    st.text(alphabet=st.sampled_from("ab|%7C25"), max_size=6) | st.text(), min_size=1, max_size=8
)


@settings(max_examples=300)
@given(parts)
def test_splitting_a_joined_key_gives_back_exactly_its_parts(values: list[str]) -> None:
    assert split_key(join_key(values)) == values


@settings(max_examples=300)
@given(parts, parts)
def test_distinct_parts_never_make_the_same_key(first: list[str], second: list[str]) -> None:
    if first != second:
        assert join_key(first) != join_key(second)


def test_ordinary_values_make_the_keys_they_always_made() -> None:
    values = ["fraud", "risk", "cc-100", "dev", "a b_c.d:e/f=g+h-i@j", "Ünïcødé 数据"]
    assert join_key(values) == "|".join(values)
    tags = TagSnapshot(project="fraud", team="risk", cost_center="cc-1")
    assert tags.dimension_values()[Dimension.ALLOCATION] == f"fraud|risk|cc-1|{UNTAGGED}"


def test_resource_line_keys_written_before_escaping_still_parse() -> None:
    old = f"{ARN}|hosting|ml.m5.xlarge|instance-hour|fraud|risk|cc-1|dev"
    assert ResourceLine.parse(old) == ResourceLine(
        ARN, Component.HOSTING, "ml.m5.xlarge", "instance-hour", "fraud", "risk", "cc-1", "dev"
    )


def test_a_resource_line_with_the_separator_in_its_arn_and_tags_reads_back_exactly() -> None:
    line = ResourceLine(
        f"{ARN}|v2", Component.HOSTING, "ml.m5.xlarge", "instance-hour", "a|b", "50%", "|", "%7C"
    )
    assert ResourceLine.parse(line.key) == line


def test_a_resource_line_key_of_the_wrong_shape_is_refused_with_the_key() -> None:
    with pytest.raises(ValueError, match="8 parts"):
        ResourceLine.parse(f"{ARN}|hosting")


def test_what_an_event_calls_an_arn_gives_empty_region_and_account_rather_than_a_crash() -> None:
    line = ResourceLine("not-an-arn", Component.HOSTING, "ml.m5.xlarge", "instance-hour", "a", "b", "c", "d")
    assert (line.region, line.account, line.resource_name) == ("", "", "not-an-arn")


# --- within DynamoDB's limits --------------------------------------------------------------------------


def test_keys_that_fit_are_kept_as_they_are() -> None:
    key = "allocation#" + "x" * (SORT_KEY_BYTES - len("allocation#"))
    assert bounded_key(key, SORT_KEY_BYTES) == key
    assert resource_pk(ARN) == f"RES#{ARN}"


def test_a_key_too_long_keeps_its_start_and_ends_with_the_digest_of_the_whole() -> None:
    key = "allocation#" + "é" * 600  # 1,211 bytes
    bounded = bounded_key(key, SORT_KEY_BYTES)
    assert bounded.startswith("allocation#éé")
    assert bounded.endswith("#sha256:" + hashlib.sha256(key.encode()).hexdigest())
    assert len(bounded.encode()) <= SORT_KEY_BYTES
    assert len(resource_pk("arn:" + "x" * 2048).encode()) <= PARTITION_KEY_BYTES


def test_a_key_that_looks_digested_is_digested_so_it_cannot_meet_a_digested_key() -> None:
    long_key = "project#" + "p" * 2000
    lookalike = bounded_key(long_key, SORT_KEY_BYTES)
    assert bounded_key(lookalike, SORT_KEY_BYTES) != lookalike


keys = st.text(alphabet=st.sampled_from("ab#é\N{MATHEMATICAL BOLD CAPITAL A}"), max_size=700) | st.text(
    max_size=400
)


@settings(max_examples=300)
@given(keys, keys, st.sampled_from([100, 200, SORT_KEY_BYTES]))
def test_bounded_keys_fit_and_distinct_keys_stay_distinct(first: str, second: str, limit: int) -> None:
    bounded = bounded_key(first, limit)
    assert len(bounded.encode()) <= limit
    if first != second:
        assert bounded != bounded_key(second, limit)


# --- what SageMaker refuses in a tag --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("Project", "fraud"),
        ("Project", ""),
        ("cost-center", "a b_c.d:e/f=g+h-i@j"),
        ("Équipe", "données 数据 ٣"),
        (
            "Project",
            "\N{MATHEMATICAL BOLD CAPITAL A}" * 256,
        ),  # 256 letters of 4 UTF-8 bytes each: legal, 1,024 bytes
        ("k" * 128, "v" * 256),
        ("aws:cloudformation:stack-name", "stack"),  # AWS sets these itself; events carry them
    ],
)
def test_tags_sagemaker_accepts_are_not_refused(key: str, value: str) -> None:
    assert forbidden_tag(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "reason"),
    [
        ("Project", "a|b", "'|'"),
        ("Pro|ject", "a", "in its key"),
        ("Project", "100%", "'%'"),
        ("Project", "tab\there", "U+0009"),
        ("", "a", "1 to 128"),
        ("k" * 129, "a", "1 to 128"),
        ("Project", "v" * 257, "up to 256"),
    ],
)
def test_tags_sagemaker_refuses_are_refused_with_the_reason(key: str, value: str, reason: str) -> None:
    refusal = forbidden_tag(key, value)
    assert refusal is not None and reason in refusal
