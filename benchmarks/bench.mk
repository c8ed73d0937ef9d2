# Benchmarks, included by the Makefile, which defines VENV, PY, STACK, STACK_ENV
# and the venv target. Extra flags go through BENCH_ARGS, e.g. make bench BENCH_ARGS=--quick

.PHONY: bench

## bench: producer and consumer against baselines; writes docs/benchmarks.md and .png
bench: venv
	STACK_HDFS=1 $(STACK) up
	$(STACK_ENV) && $(PY) -m benchmarks $(BENCH_ARGS)
