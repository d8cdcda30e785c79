# The two entry points: `make demo` and `make test`. Each sets up what is missing.
VENV   := .venv
PYTHON := $(VENV)/bin/python
STAMP  := $(VENV)/.installed

.PHONY: demo test setup system clean

demo: setup
	$(PYTHON) -m examples.demo

test: setup
	$(PYTHON) -m pytest

setup: system $(STAMP)

system:
	@bash scripts/install-system-packages.sh

$(STAMP): pyproject.toml
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install -q --upgrade pip
	$(PYTHON) -m pip install -q -e '.[test]'
	touch $(STAMP)

clean:
	rm -rf $(VENV) build *.egg-info
