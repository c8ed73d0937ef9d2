"""schema-gate: a schema evolution gate for Avro contracts in a schema registry.

Each ``schemas/<subject>.avsc`` file is checked against the versions registered under
its subject (or against its own git history, offline) at one of the seven Confluent
compatibility levels, and every violation is reported with a stable rule id.
"""
