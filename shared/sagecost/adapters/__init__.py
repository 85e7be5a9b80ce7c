"""The only code that talks to AWS: DynamoDB ledger, SageMaker reads, prices."""
