"""pydantic models: SageMaker event details, configuration, ledger records, price catalog."""
