# The targets CI and the README use. Everything installs into .venv from this repo's own files.
VENV ?= .venv
BIN := $(VENV)/bin
DATA ?= demo-data

.PHONY: install demo test lint clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev,spark]'
	touch $@

demo: install
	$(BIN)/loanquality demo --data-dir $(DATA)

test: install
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/pytest

lint: install
	$(BIN)/ruff check src tests benchmarks

clean:
	rm -rf $(VENV) $(DATA) .pytest_cache
