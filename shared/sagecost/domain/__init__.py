"""Pure rules: pricing, metering, tag snapshots, periods. No boto3, no environment, no clock."""
