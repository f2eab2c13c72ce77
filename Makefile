# Shiftroom — the two commands: `make demo` and `make test`.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
PIP := $(BIN)/pip install -q --disable-pip-version-check

.PHONY: demo test lint install system-deps bench clean fuzz

install: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(PIP) -r requirements.lock
	$(PIP) --no-deps -e .
	@touch $(STAMP)

## Run the control room on the embedded simulated cluster.
demo: $(STAMP)
	$(BIN)/shiftroom demo $(ARGS)

## redis-server, prometheus, chromium (the browser test of `shiftroom serve`) and openssl (the test API server's TLS certificates) are real parts of the test suite.
system-deps:
	@missing=""; \
	command -v redis-server >/dev/null 2>&1 || missing="$$missing redis-server"; \
	command -v prometheus   >/dev/null 2>&1 || missing="$$missing prometheus"; \
	command -v chromium     >/dev/null 2>&1 || missing="$$missing chromium"; \
	command -v openssl      >/dev/null 2>&1 || missing="$$missing openssl"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    echo "installing$$missing with apt-get"; \
	    DEBIAN_FRONTEND=noninteractive apt-get update -qq && \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  else \
	    echo "make test needs$$missing: install it (Debian: sudo apt-get install$$missing) and run make test again." >&2; \
	    exit 1; \
	  fi; \
	fi

## The whole suite: unit, Pilot, snapshot and integration tests against real redis-server and prometheus,
## in TEST_WORKERS parallel pytest-xdist processes (`make test TEST_WORKERS=0`: one process).
TEST_WORKERS ?= 2
test: system-deps $(STAMP)
	$(MAKE) --no-print-directory lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadgroup

## Long fuzz run: many more hypothesis examples and Redis values than `make test` uses.
fuzz: system-deps $(STAMP)
	HYPOTHESIS_PROFILE=fuzz SHIFTROOM_FUZZ_REDIS_VALUES=20000 $(BIN)/python -m pytest -q tests/test_fuzz_parsers.py tests/test_fuzz_redis.py tests/test_fuzz_kill_restore.py tests/test_safejson.py

bench: $(STAMP)
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) build *.egg-info

## ruff (lint + format check) and mypy over the whole tree.
lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
