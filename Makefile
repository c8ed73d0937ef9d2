# prices: a data-contract pipeline for Kafka. `make run` runs it, `make test` tests it.
# Both set up everything they need: a virtual environment in .venv, the jars, the stack.

VENV := .venv
PY := $(VENV)/bin/python
STACK := scripts/local-stack.sh
# Connection settings of the local stack, exported the same way compose and tests do.
STACK_ENV = eval "$$($(STACK) env)"

.PHONY: venv class-data run test lint stack-up stack-down clean

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml requirements.lock
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --upgrade pip
	$(VENV)/bin/pip install --quiet --constraint requirements.lock --editable '.[dev]'
	touch $@

stack-up:
	$(STACK) up

## class-data: the Spark driver's class-data archive for this install, made once (a
## training run of the consumer's data path, no stack needed); later Spark starts map it
class-data: venv
	$(STACK) fetch
	$(PY) -m consumer.class_data

stack-down:
	$(STACK) down

## run: start the local stack, send the events, print the consumer's report
run: venv stack-up class-data
	$(STACK_ENV) && $(PY) -m producer && $(PY) -m consumer

## test: the whole test suite against a real stack (started and stopped by pytest);
## make test PYTEST_ARGS='-m "not slow"' skips the cluster and fault tests
PYTEST_ARGS ?=
test: venv class-data
	$(PY) -m pytest $(PYTEST_ARGS)

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy producer consumer connection schemagate benchmarks contract

include scripts/docker/docker.mk
include benchmarks/bench.mk

clean: stack-down
	$(STACK) reset
	rm -rf $(VENV)
