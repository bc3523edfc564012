# Two commands do all the set-up: `make demo` runs the main job, `make test` runs the tests.
# `make test-fast` is the quick run while working: no real data sets, no browser, nothing slow (~2.5 min idle on 2 cores).
# `make docs` builds the documentation site into site/ with the tutorials executed at full size.
PYTHON ?= python3.11
TEST_WORKERS ?= 2
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test test-fast docs wheel-check bench format clean

$(STAMP): pyproject.toml setup.py constraints.txt src/mnistlab/datasets/_csvparse.c
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,docs]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/mnistlab data fetch mnist
	$(BIN)/mnistlab data fetch fashion-mnist-kaggle
	$(BIN)/mnistlab data info mnist
	$(BIN)/mnistlab data info fashion-mnist-kaggle
	$(BIN)/mnistlab data eda mnist --out reports
	$(BIN)/mnistlab data eda fashion-mnist-kaggle --out reports
	$(BIN)/mnistlab train --data mnist --model cnn-fast --seed 0 --out runs/cnn-mnist --overwrite
	$(BIN)/mnistlab evaluate runs/cnn-mnist
	$(BIN)/mnistlab train --data fashion-mnist-kaggle --model mlp --seed 0 --out runs/mlp-fashion --overwrite
	$(BIN)/mnistlab evaluate runs/mlp-fashion
	$(BIN)/mnistlab detect --data mnist --positive 5 --models sgd,random-forest --out reports/detect-5
	$(BIN)/mnistlab graph runs/mlp-fashion --all --out reports/graph-mlp-fashion
	$(BIN)/mnistlab graph runs/mlp-fashion --compare --out reports/graph-mlp-fashion
	$(BIN)/mnistlab report runs/cnn-mnist runs/mlp-fashion --compare --out reports/leaderboard.html
	@echo
	@echo "Open these:"
	@echo "  reports/leaderboard.html        the two runs side by side, each linking to its report"
	@echo "  runs/cnn-mnist/report.html      one run: data, training, evaluation, calibration, its mistakes"
	@echo "  reports/graph-mlp-fashion/      what the Fashion-MNIST network learned, as graphs of images"
	@echo "Then draw digits for the MNIST model:  $(BIN)/mnistlab serve runs/cnn-mnist   (http://127.0.0.1:8000)"

test: $(STAMP)
	@command -v chromium >/dev/null 2>&1 || (apt-get update -qq && apt-get install -y -qq chromium >/dev/null) \
		|| echo "chromium could not be installed: the browser tests (report, web app) will be skipped"
	$(BIN)/ruff check src tests benchmarks docs/tutorials docs/hooks
	$(BIN)/ruff format --check src tests benchmarks docs/tutorials docs/hooks
	$(BIN)/lint-imports --no-cache
	$(BIN)/pytest -n $(TEST_WORKERS) --dist loadfile --durations=15
	MNISTLAB_TUTORIAL_SIZE=small NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --quiet --site-dir build/site-small
	$(MAKE) --no-print-directory wheel-check

# The documentation site (offline: open site/index.html); the tutorials run at full size (~14 minutes on 2 cores).
docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict

# The package as a user gets it: build the wheel, install it into a fresh virtual environment without the
# development extras (torch from constraints.txt: the CPU build, never a CUDA one) and use it from there.
wheel-check: $(STAMP)
	PYTHON=$(PYTHON) .ci/wheel_check.sh

test-fast: $(STAMP)
	$(BIN)/ruff check src tests benchmarks docs/tutorials docs/hooks
	$(BIN)/pytest -q -n $(TEST_WORKERS) --dist loadfile -m "not realdata and not browser and not slow"

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks docs/tutorials docs/hooks
	$(BIN)/ruff check --fix src tests benchmarks docs/tutorials docs/hooks

clean:
	rm -rf $(VENV) .venv-keras reports runs build site .cache src/mnistlab/datasets/*.so

.venv-keras/.installed:
	$(PYTHON) -m venv .venv-keras
	.venv-keras/bin/pip install --quiet --disable-pip-version-check tensorflow-cpu==2.21.0 keras==3.15.1
	touch $@

$(VENV)/.bench: $(STAMP)
	$(BIN)/pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev,bench]'
	touch $@

bench: $(VENV)/.bench .venv-keras/.installed
	$(BIN)/python benchmarks/suite.py
