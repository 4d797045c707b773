# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv when missing. torch is pinned to a CPU build first so that a
# CPU-only machine never pulls a multi-GB CUDA wheel; set TORCH_SPEC to change it
# (e.g. TORCH_SPEC="torch" on a CUDA machine).
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
BIN := $(VENV)/bin
.PHONY: demo test venv dev docs clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet "$(TORCH_SPEC)"

$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	touch $@

venv: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/gnnkit demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

docs: $(VENV)/.installed-dev
	$(BIN)/mkdocs build --strict

clean:
	rm -rf $(VENV) build *.egg-info
