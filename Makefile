# MLEE — the two commands a newcomer needs:
#   make demo   set everything up, then measure, merge, rate and label one inference run
#   make test   set everything up, then run the whole test suite
# `make` alone only sets up the virtual environment at .venv (idempotent: a stamp file).

PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: all install browser axe demo test bench clean
all: install

install: $(STAMP)

$(STAMP): requirements.txt requirements-test.txt pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip setuptools wheel
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-test.txt
	$(PY) -m pip install --quiet --no-deps --no-build-isolation -e .
	touch $(STAMP)

# Headless Chromium for the browser tests and DejaVu for labels' wide Unicode coverage (Debian
# packages; never a downloaded browser). Without apt (or root) the tests that need them say so.
browser:
	@if ! command -v chromium >/dev/null || ! command -v chromedriver >/dev/null \
			|| [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]; then \
		echo "installing chromium + chromium-driver + fonts-dejavu-core (apt)"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			chromium chromium-driver fonts-dejavu-core >/dev/null; \
	fi

# axe-core for the accessibility tests, pinned by tests/a11y/package-lock.json (npm registry only).
AXE := tests/a11y/node_modules/axe-core/axe.min.js
axe: $(AXE)
$(AXE): tests/a11y/package.json tests/a11y/package-lock.json
	npm ci --prefix tests/a11y --no-audit --no-fund --silent
	touch $(AXE)

demo: install
	$(PY) -m mlel.apps.demo

test: install browser axe
	$(VENV)/bin/lint-imports --no-cache  # the layers contract in pyproject.toml
	$(PY) -m pytest $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc -eq 5 ]; then echo "pytest collected no tests"; exit 1; fi; exit $$rc

# Speed and memory goals: each benchmark prints its ratios (see README, "Benchmarks").
BENCHES := ratings_corpus records_rating monitor_overhead harness_overhead labels elex_callbacks estimate_error interval_coverage publish
bench: install
	@for b in $(BENCHES); do echo "== bench/$$b.py"; $(PY) bench/$$b.py || exit $$?; done

clean:
	rm -rf $(VENV) .pytest_cache
