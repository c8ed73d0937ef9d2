"""Benchmarks of the producer and the consumer against baselines, on the local stack.

``python -m benchmarks`` runs every measurement in one go and writes docs/benchmarks.md
and docs/benchmarks.png; ``--quick`` is a smoke run at small sizes.
"""
