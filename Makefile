# Two commands for a newcomer: `make demo` (set up, run the demo) and `make test` (set up, pass the tests).
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint typecheck setup system-deps bench clean mutation

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

setup: $(STAMP)

system-deps:
	bash scripts/system-deps.sh

demo: $(STAMP)
	$(BIN)/ketamine-ptsd demo $(DEMO_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests bench
	$(BIN)/ruff format --check src tests bench

typecheck: $(STAMP)
	$(BIN)/mypy
	$(BIN)/lint-imports

test: $(STAMP) system-deps lint typecheck
	$(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: $(STAMP)
	for f in bench/*.py; do $(BIN)/python $$f || exit 1; done

# Mutation testing of the safety rules, the instruments and the workflow's guards (not in CI;
# configuration in pyproject.toml [tool.mutmut]; scores recorded in docs/benchmarks.md).
mutation: $(STAMP)
	$(BIN)/python -m pip install --quiet 'mutmut==3.8.1'
	rm -rf mutants
	$(BIN)/mutmut run --max-children 1
	$(BIN)/mutmut results --all true | $(BIN)/python scripts/mutation_report.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mutants
