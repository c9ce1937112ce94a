"""Orchestra's workflow engine: the only package that knows workflow semantics.

model (statuses, the transition table, records) · definitions (the DAG and its validation) ·
flow (decisions derived from a workflow image) · store (DynamoDB, conditional writes) ·
service (the operations handlers call) · dispatch, invoke, connections (the other AWS services) ·
config and runtime (environment, clients) · handlers/ (one thin module per Lambda function).
"""
