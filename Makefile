# prices: a data-contract pipeline for Kafka. `make run` runs it, `make test` tests it.
# Both set up everything they need: a virtual environment in .venv, the jars, the stack.

VENV := .venv
PY := $(VENV)/bin/python
STACK := scripts/local-stack.sh
# Connection settings of the local stack, exported the same way compose and tests do.
STACK_ENV = eval "$$($(STACK) env)"

.PHONY: venv class-data run test check lint stack-up stack-down clean browser inspect \
	inspector-screenshot interop-venv test-interop

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

## test: the whole test suite against a real stack: started here unless it runs already (and
## then stopped again), shared by two pytest-xdist workers (one test file per worker at a
## time; the cluster's files together; tests that stop a service stop one of a private stack).
## make test TEST_MARKS='not slow' skips the cluster and fault tests; PYTEST_ARGS go to pytest
## (HDFS's jars are fetched first, once: private stacks on both workers would fetch them at once);
## the 30 slowest tests are listed at the end, where the time goes
TEST_MARKS ?=
PYTEST_ARGS ?=
TEST_WORKERS ?= 2
## The tests' JVMs compile with C1 only, as a short report's driver does: each runs seconds
## to minutes, and C2's compile threads took a third of the follow tests' CPU. Spark's
## drivers get it through SPARK_SUBMIT_OPTS, their executors on a standalone cluster through
## the driver's spark.executor.defaultJavaOptions, the stacks' services through
## STACK_JAVA_OPTIONS
TEST_JAVA_OPTIONS ?= -XX:TieredStopAtLevel=1
TEST_SPARK_SUBMIT_OPTS = $(TEST_JAVA_OPTIONS) -Dspark.executor.defaultJavaOptions="$(TEST_JAVA_OPTIONS)"
TEST_JVMS = export SPARK_SUBMIT_OPTS='$(TEST_SPARK_SUBMIT_OPTS)' STACK_JAVA_OPTIONS='$(TEST_JAVA_OPTIONS)'
MARKS_AND = $(if $(TEST_MARKS),($(TEST_MARKS)) and ,)
test: venv class-data browser
	STACK_HDFS=1 $(STACK) fetch
	@$(TEST_JVMS); started=; $(STACK) status >/dev/null 2>&1 || { $(STACK) up && started=yes; }; \
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadgroup -m "$(MARKS_AND)not interop" \
		--durations=30 $(PYTEST_ARGS); passed=$$?; \
	if [ -n "$$started" ]; then $(STACK) down; fi; \
	[ $$passed -eq 0 ]

## test-interop: datacontract-cli checks live topics with the contract exported as ODCS and
## must count, per rule, what the consumer counts (tests/interop). Not part of make test:
## datacontract-cli (pinned by tests/interop/datacontract-cli.lock) pulls pandas, pyarrow and
## DuckDB, about 600 MB, into a venv of its own. The tests start the stack unless it runs.
INTEROP_VENV := .venv-interop
INTEROP_LOCK := tests/interop/datacontract-cli.lock
interop-venv: $(INTEROP_VENV)/.installed

$(INTEROP_VENV)/.installed: $(INTEROP_LOCK)
	python3 -m venv $(INTEROP_VENV)
	$(INTEROP_VENV)/bin/pip install --quiet --upgrade pip
	$(INTEROP_VENV)/bin/pip install --quiet --constraint $(INTEROP_LOCK) 'datacontract-cli[kafka,avro]'
	touch $@

test-interop: venv class-data interop-venv
	$(TEST_JVMS); DATACONTRACT_CLI=$(INTEROP_VENV)/bin/datacontract $(PY) -m pytest -m interop tests/interop \
		$(PYTEST_ARGS)

## browser: Debian's Chromium, which the inspector's browser tests (Playwright, from the dev
## extras) and its screenshot drive; installed with apt-get (as root) when it is missing.
## Nothing downloads a browser build of its own.
CHROMIUM := /usr/bin/chromium
browser:
	@test -x $(CHROMIUM) || { apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; }

## inspect: the inspector on the local stack, at http://127.0.0.1:8088
inspect: venv stack-up
	$(STACK_ENV) && $(PY) -m inspector

## inspector-screenshot: docs/inspector.png, the inspector's topic page in the real browser
inspector-screenshot: venv stack-up browser
	$(STACK_ENV) && PY=$(PY) scripts/inspector-screenshot.sh docs/inspector.png

## check: the inner loop, no service started: lint, types and every test that needs none
## (unit tests, and Spark on in-memory frames), on the workers make test uses
CHECK_MARKS := not integration and not reliability and not slow and not interop
check: lint
	$(TEST_JVMS); $(PY) -m pytest -q -n $(TEST_WORKERS) --dist loadgroup -m "$(CHECK_MARKS)"

lint: venv
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy producer consumer connection contract schemagate benchmarks inspector

include scripts/docker/docker.mk
include benchmarks/bench.mk

clean: stack-down
	$(STACK) reset
	rm -rf $(VENV)
