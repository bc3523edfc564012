# Two commands do all the set-up: `make demo` runs the main job, `make test` runs the tests.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint format clean

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mnistlab data fetch mnist
	$(BIN)/mnistlab data fetch fashion-mnist-kaggle
	$(BIN)/mnistlab data info mnist
	$(BIN)/mnistlab data info fashion-mnist-kaggle
	$(BIN)/mnistlab data eda mnist --out reports
	$(BIN)/mnistlab data eda fashion-mnist-kaggle --out reports

test: $(STAMP)
	$(BIN)/ruff check src tests
	$(BIN)/ruff format --check src tests
	$(BIN)/pytest

format: $(STAMP)
	$(BIN)/ruff format src tests
	$(BIN)/ruff check --fix src tests

clean:
	rm -rf $(VENV) reports
