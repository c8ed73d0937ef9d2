"""The data contract's rules, free of Spark: the rule model, the rules file, the CEL subset
the rules are written in, and the judging every side shares (see contract.rules).

Importable where pyspark is not installed (the schema gate, a web inspector); the Spark
compiler is consumer.rules and the numpy evaluator producer.rules.
"""
