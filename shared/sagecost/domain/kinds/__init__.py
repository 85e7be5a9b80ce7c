"""One module per SageMaker resource kind (see `registry`): pure rules, no AWS, no clock."""
