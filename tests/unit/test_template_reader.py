"""sagecost.local.template: reading SAM templates as plain data (small inline templates + the real one)."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from botocore.validate import validate_parameters

from sagecost.local.template import (
    EventRule,
    FunctionSpec,
    TemplateError,
    default_template_path,
    event_rules,
    functions,
    load_template,
    queue_names,
    table_create_args,
    table_ttl_attribute,
)

REPO_ROOT = Path(__file__).resolve().parents[2]


def _write(tmp_path: Path, text: str, name: str = "template.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def _load(tmp_path: Path, text: str) -> dict[str, Any]:
    return load_template(_write(tmp_path, text))


# ------------------------------------------------------------------------------------------------
# load_template
# ------------------------------------------------------------------------------------------------


def test_short_form_tags_load_as_their_long_form(tmp_path: Path) -> None:
    template = _load(
        tmp_path,
        """
        Conditions:
          IsProd: !Equals [!Ref Stage, prod]
          NotProd: !Not [!Condition IsProd]
          Both: !And [!Condition IsProd, !Or [!Condition NotProd, !Condition IsProd]]
        Resources:
          Thing:
            Type: AWS::SNS::Topic
            Properties:
              TopicName: !Sub "${AWS::StackName}-alerts"
              DisplayName: !Sub
                - "${Name}-x"
                - Name: !Ref Stage
              KmsMasterKeyId: !If [IsProd, !GetAtt Key.Arn, !Ref AWS::NoValue]
              Tags:
                - Key: a
                  Value: !Join ["-", [!Select [0, !Split [",", "x,y"]], !GetAZs ""]]
                - Key: b
                  Value: !FindInMap [Map, !Ref AWS::Region, name]
                - Key: c
                  Value: !Base64 hello
                - Key: d
                  Value: !ImportValue shared-thing
                - Key: e
                  Value: !GetAtt [Key, Arn]
                - Key: f
                  Value: !GetAtt Stack.Outputs.Name
        """,
    )

    conditions = template["Conditions"]
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}
    assert conditions["NotProd"] == {"Fn::Not": [{"Condition": "IsProd"}]}
    assert conditions["Both"] == {
        "Fn::And": [{"Condition": "IsProd"}, {"Fn::Or": [{"Condition": "NotProd"}, {"Condition": "IsProd"}]}]
    }
    properties = template["Resources"]["Thing"]["Properties"]
    assert properties["TopicName"] == {"Fn::Sub": "${AWS::StackName}-alerts"}
    assert properties["DisplayName"] == {"Fn::Sub": ["${Name}-x", {"Name": {"Ref": "Stage"}}]}
    assert properties["KmsMasterKeyId"] == {
        "Fn::If": ["IsProd", {"Fn::GetAtt": ["Key", "Arn"]}, {"Ref": "AWS::NoValue"}]
    }
    tags = {tag["Key"]: tag["Value"] for tag in properties["Tags"]}
    assert tags["a"] == {
        "Fn::Join": ["-", [{"Fn::Select": [0, {"Fn::Split": [",", "x,y"]}]}, {"Fn::GetAZs": ""}]]
    }
    assert tags["b"] == {"Fn::FindInMap": ["Map", {"Ref": "AWS::Region"}, "name"]}
    assert tags["c"] == {"Fn::Base64": "hello"}
    assert tags["d"] == {"Fn::ImportValue": "shared-thing"}
    assert tags["e"] == {"Fn::GetAtt": ["Key", "Arn"]}
    assert tags["f"] == {"Fn::GetAtt": ["Stack", "Outputs.Name"]}


def test_dates_stay_strings(tmp_path: Path) -> None:
    template = _load(
        tmp_path,
        """
        Resources:
          Policy:
            Type: AWS::SQS::QueuePolicy
            Properties:
              PolicyDocument:
                Version: 2012-10-17
        """,
    )

    assert template["Resources"]["Policy"]["Properties"]["PolicyDocument"]["Version"] == "2012-10-17"


def test_json_templates_load_too(tmp_path: Path) -> None:
    path = _write(tmp_path, '{"Resources": {"Q": {"Type": "AWS::SQS::Queue"}}}', "template.json")

    assert queue_names(load_template(path)) == ["Q"]


def test_a_missing_file_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="cannot read template"):
        load_template(tmp_path / "nope.yaml")


def test_invalid_yaml_is_a_template_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="not valid YAML"):
        _load(tmp_path, "Resources: [unclosed\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("- a\n- b\n", "top level is not a mapping"),
        ("", "top level is not a mapping"),
        ("Parameters: {}\n", "no Resources mapping"),
        ("Resources: []\n", "no Resources mapping"),
    ],
)
def test_a_document_that_is_not_a_template_is_a_template_error(
    tmp_path: Path, text: str, message: str
) -> None:
    with pytest.raises(TemplateError, match=message):
        _load(tmp_path, text)


def test_python_tags_are_not_constructed(tmp_path: Path) -> None:
    """The loader is a SafeLoader: `!!python/...` tags are refused, not executed."""
    with pytest.raises(TemplateError, match="not valid YAML"):
        _load(tmp_path, "Resources: !!python/object/apply:os.getcwd []\n")


def test_default_template_path_is_the_repository_template() -> None:
    assert default_template_path() == REPO_ROOT / "template.yaml"


def test_load_template_defaults_to_the_repository_template() -> None:
    assert load_template() == load_template(REPO_ROOT / "template.yaml")


# ------------------------------------------------------------------------------------------------
# event_rules / queue_names
# ------------------------------------------------------------------------------------------------

RULES_TEMPLATE = """
Resources:
  Queue:
    Type: AWS::SQS::Queue
  OtherQueue:
    Type: AWS::SQS::Queue
  Topic:
    Type: AWS::SNS::Topic
  MappingRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern:
        source: [aws.sagemaker]
        detail-type: [SageMaker Training Job State Change]
      Targets:
        - Id: q
          Arn: !GetAtt Queue.Arn
        - Id: t
          Arn: !Ref Topic
        - Id: fn
          Arn: !GetAtt Function.Arn
  JsonRule:
    Type: AWS::Events::Rule
    Properties:
      EventPattern: '{"source": ["aws.sagemaker"], "detail": {"EndpointStatus": ["IN_SERVICE"]}}'
      Targets:
        - Id: long-form
          Arn:
            Fn::GetAtt: [OtherQueue, Arn]
        - Id: queue-url-is-not-a-target-arn
          Arn: !GetAtt Queue.QueueUrl
  ScheduledRule:
    Type: AWS::Events::Rule
    Properties:
      ScheduleExpression: rate(5 minutes)
      Targets:
        - Id: q
          Arn: !GetAtt Queue.Arn
"""


def test_event_rules_read_mapping_and_json_patterns(tmp_path: Path) -> None:
    rules = event_rules(_load(tmp_path, RULES_TEMPLATE))

    assert rules == [
        EventRule(
            logical_id="MappingRule",
            pattern={"source": ["aws.sagemaker"], "detail-type": ["SageMaker Training Job State Change"]},
            target_queue_ids=("Queue",),
        ),
        EventRule(
            logical_id="JsonRule",
            pattern={"source": ["aws.sagemaker"], "detail": {"EndpointStatus": ["IN_SERVICE"]}},
            target_queue_ids=("OtherQueue",),
        ),
    ]


def test_event_rule_patterns_are_copies(tmp_path: Path) -> None:
    template = _load(tmp_path, RULES_TEMPLATE)
    event_rules(template)[0].pattern["source"].append("mutated")

    assert event_rules(template)[0].pattern["source"] == ["aws.sagemaker"]


@pytest.mark.parametrize(
    ("pattern", "message"), [("'{not json'", "not valid JSON"), ("'[1, 2]'", "not a mapping")]
)
def test_a_bad_event_pattern_is_a_template_error(tmp_path: Path, pattern: str, message: str) -> None:
    template = _load(
        tmp_path,
        f"""
        Resources:
          Rule:
            Type: AWS::Events::Rule
            Properties:
              EventPattern: {pattern}
        """,
    )

    with pytest.raises(TemplateError, match=message):
        event_rules(template)


def test_queue_names_are_the_queue_logical_ids_in_order(tmp_path: Path) -> None:
    assert queue_names(_load(tmp_path, RULES_TEMPLATE)) == ["Queue", "OtherQueue"]


# ------------------------------------------------------------------------------------------------
# functions
# ------------------------------------------------------------------------------------------------

FUNCTIONS_TEMPLATE = """
Globals:
  Function:
    CodeUri: functions/
    Handler: default.handler.lambda_handler
    Environment:
      Variables:
        SHARED: from-globals
        OVERRIDDEN: from-globals
        RESOLVED_LATER: !Ref Table
        MADE_DYNAMIC: from-globals
Resources:
  Queue:
    Type: AWS::SQS::Queue
  Consumer:
    Type: AWS::Serverless::Function
    Properties:
      Handler: consumer.handler.lambda_handler
      Environment:
        Variables:
          OVERRIDDEN: from-function
          OWN: mine
          MADE_DYNAMIC: !Sub "${AWS::Region}"
      Events:
        FromQueue:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
            BatchSize: 25
  DefaultBatch:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: other/
      Events:
        FromQueue:
          Type: SQS
          Properties:
            Queue: !GetAtt Queue.Arn
  Scheduled:
    Type: AWS::Serverless::Function
    Properties:
      Handler: scheduled.handler.lambda_handler
      Events:
        Hourly:
          Type: ScheduleV2
          Properties:
            ScheduleExpression: rate(1 hour)
        Nightly:
          Type: Schedule
          Properties:
            Schedule: cron(0 2 * * ? *)
        Api:
          Type: Api
          Properties:
            Path: /x
            Method: get
  NotServerless:
    Type: AWS::Lambda::Function
    Properties:
      Handler: ignored.handler
"""


def test_functions_merge_globals(tmp_path: Path) -> None:
    specs = {spec.logical_id: spec for spec in functions(_load(tmp_path, FUNCTIONS_TEMPLATE))}

    assert set(specs) == {"Consumer", "DefaultBatch", "Scheduled"}
    assert specs["Consumer"] == FunctionSpec(
        logical_id="Consumer",
        handler="consumer.handler.lambda_handler",
        code_uri="functions/",
        queue_ids=("Queue",),
        schedules=(),
        batch_size=25,
        # literal strings only: RESOLVED_LATER (a !Ref) is dropped, and so is MADE_DYNAMIC, whose
        # function-level value is not literal even though the global one was
        environment={"SHARED": "from-globals", "OVERRIDDEN": "from-function", "OWN": "mine"},
    )


def test_handler_and_code_uri_fall_back_to_globals(tmp_path: Path) -> None:
    specs = {spec.logical_id: spec for spec in functions(_load(tmp_path, FUNCTIONS_TEMPLATE))}

    assert specs["DefaultBatch"].handler == "default.handler.lambda_handler"
    assert specs["DefaultBatch"].code_uri == "other/"


def test_an_sqs_source_without_batch_size_reports_the_lambda_default(tmp_path: Path) -> None:
    specs = {spec.logical_id: spec for spec in functions(_load(tmp_path, FUNCTIONS_TEMPLATE))}

    assert specs["DefaultBatch"].batch_size == 10
    assert specs["Scheduled"].batch_size is None


def test_schedules_come_from_schedule_v2_and_schedule_events(tmp_path: Path) -> None:
    specs = {spec.logical_id: spec for spec in functions(_load(tmp_path, FUNCTIONS_TEMPLATE))}

    assert specs["Scheduled"].schedules == ("rate(1 hour)", "cron(0 2 * * ? *)")
    assert specs["Scheduled"].queue_ids == ()


def test_functions_without_globals(tmp_path: Path) -> None:
    template = _load(
        tmp_path,
        """
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties:
              Handler: fn.handler.lambda_handler
              CodeUri: src/
        """,
    )

    assert functions(template) == [
        FunctionSpec("Fn", "fn.handler.lambda_handler", "src/", (), (), None, {}),
    ]


@pytest.mark.parametrize(
    ("properties", "message"),
    [
        ("{CodeUri: src/}", "no Handler"),
        ("{Handler: fn.handler.lambda_handler}", "CodeUri is not a local path"),
        ("{Handler: fn.h, CodeUri: {Bucket: b, Key: k}}", "CodeUri is not a local path"),
        (
            "{Handler: fn.h, CodeUri: src/, Events: {Q: {Type: SQS, Properties: {BatchSize: !Ref N}}}}",
            "BatchSize is not a literal integer",
        ),
    ],
)
def test_an_unusable_function_is_a_template_error(tmp_path: Path, properties: str, message: str) -> None:
    template = _load(
        tmp_path,
        f"""
        Resources:
          Fn:
            Type: AWS::Serverless::Function
            Properties: {properties}
        """,
    )

    with pytest.raises(TemplateError, match=message):
        functions(template)


# ------------------------------------------------------------------------------------------------
# table_create_args
# ------------------------------------------------------------------------------------------------

TABLE_TEMPLATE = """
Resources:
  Named:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: literal-name
      BillingMode: PROVISIONED
      ProvisionedThroughput: {ReadCapacityUnits: 1, WriteCapacityUnits: 1}
      AttributeDefinitions:
        - {AttributeName: id, AttributeType: S}
        - {AttributeName: at, AttributeType: N}
      KeySchema:
        - {AttributeName: id, KeyType: HASH}
        - {AttributeName: at, KeyType: RANGE}
      LocalSecondaryIndexes:
        - IndexName: by_at
          KeySchema:
            - {AttributeName: id, KeyType: HASH}
            - {AttributeName: at, KeyType: RANGE}
          Projection: {ProjectionType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: ttl, Enabled: false}
  Computed:
    Type: AWS::DynamoDB::Table
    Properties:
      TableName: !Sub "${AWS::StackName}-table"
      BillingMode: PAY_PER_REQUEST
      AttributeDefinitions: [{AttributeName: id, AttributeType: S}]
      KeySchema: [{AttributeName: id, KeyType: HASH}]
      StreamSpecification: {StreamViewType: KEYS_ONLY}
      TimeToLiveSpecification: {AttributeName: expires, Enabled: true}
  Queue:
    Type: AWS::SQS::Queue
"""


def test_table_create_args_use_a_literal_table_name(tmp_path: Path) -> None:
    args = table_create_args(_load(tmp_path, TABLE_TEMPLATE), "Named")

    assert args == {
        "TableName": "literal-name",
        "BillingMode": "PROVISIONED",
        "ProvisionedThroughput": {"ReadCapacityUnits": 1, "WriteCapacityUnits": 1},
        "AttributeDefinitions": [
            {"AttributeName": "id", "AttributeType": "S"},
            {"AttributeName": "at", "AttributeType": "N"},
        ],
        "KeySchema": [
            {"AttributeName": "id", "KeyType": "HASH"},
            {"AttributeName": "at", "KeyType": "RANGE"},
        ],
        "LocalSecondaryIndexes": [
            {
                "IndexName": "by_at",
                "KeySchema": [
                    {"AttributeName": "id", "KeyType": "HASH"},
                    {"AttributeName": "at", "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "KEYS_ONLY"},
            }
        ],
    }


def test_table_create_args_name_falls_back_to_the_logical_id_and_can_be_overridden(tmp_path: Path) -> None:
    template = _load(tmp_path, TABLE_TEMPLATE)

    assert table_create_args(template, "Computed")["TableName"] == "Computed"
    assert table_create_args(template, "Computed", table_name="t1")["TableName"] == "t1"
    assert table_create_args(template, "Computed")["StreamSpecification"] == {
        "StreamEnabled": True,
        "StreamViewType": "KEYS_ONLY",
    }


def test_table_ttl_attribute_only_when_enabled(tmp_path: Path) -> None:
    template = _load(tmp_path, TABLE_TEMPLATE)

    assert table_ttl_attribute(template, "Computed") == "expires"
    assert table_ttl_attribute(template, "Named") is None


@pytest.mark.parametrize("logical_id", ["Queue", "Missing"])
def test_table_create_args_for_something_that_is_not_a_table(tmp_path: Path, logical_id: str) -> None:
    with pytest.raises(TemplateError, match="is not an AWS::DynamoDB::Table"):
        table_create_args(_load(tmp_path, TABLE_TEMPLATE), logical_id)


# ------------------------------------------------------------------------------------------------
# the real template.yaml
# ------------------------------------------------------------------------------------------------


def test_the_real_template_reads() -> None:
    template = load_template()

    assert {spec.handler for spec in functions(template)} >= {
        "usage_recorder.handler.lambda_handler",
        "usage_sweeper.handler.lambda_handler",
        "tag_enforcer.handler.lambda_handler",
    }
    assert [rule.target_queue_ids for rule in event_rules(template)] == [("UsageQueue",), ("TagQueue",)]
    assert {"UsageQueue", "UsageDeadLetterQueue"} <= set(queue_names(template))


def test_the_real_ledger_table_args_are_valid_create_table_parameters() -> None:
    """botocore's own parameter validation (offline): the moto ledger is the template's ledger."""
    args = table_create_args(load_template(), table_name="ledger-test")
    create_table = botocore.session.get_session().get_service_model("dynamodb").operation_model("CreateTable")

    assert create_table.input_shape is not None
    validate_parameters(args, create_table.input_shape)  # raises ParamValidationError on drift

    assert args["TableName"] == "ledger-test"
    assert args["BillingMode"] == "PAY_PER_REQUEST"
    assert args["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    assert {index["IndexName"] for index in args["GlobalSecondaryIndexes"]} == {"by_month", "open_resources"}
    assert args["StreamSpecification"] == {"StreamEnabled": True, "StreamViewType": "NEW_AND_OLD_IMAGES"}
    assert table_ttl_attribute(load_template()) == "expires_at"
