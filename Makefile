# Two commands on a fresh machine: `make demo` and `make test`.
# Both create .venv when missing and install torch first, from TORCH_INDEX:
#   TORCH_INDEX=https://download.pytorch.org/whl/cpu (default)  the CPU build (~200 MB), for
#       a machine without an NVIDIA GPU; PyPI's own Linux torch wheel is the CUDA build (GBs).
#   make demo TORCH_INDEX=   (empty) PyPI's default torch: CUDA on Linux, what a GPU machine wants
#   make demo TORCH_INDEX=https://download.pytorch.org/whl/cu126   one CUDA version explicitly
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.13.0
TORCH_INDEX ?= https://download.pytorch.org/whl/cpu
BIN := $(VENV)/bin
.PHONY: demo test venv dev docs docs-assets docs-check wheel-check clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) "$(TORCH_SPEC)"

# [plot] so that the examples (matplotlib figures) run right after `make demo`
$(VENV)/.installed: $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet -e ".[plot]"
	touch $@

# torch-scatter (the optional [scatter] backend) publishes wheels for some torch versions only
# (data.pyg.org), none for this pin: it is built from source against the venv's torch (about
# 10 minutes on 2 cores, once per venv), so that `make test` checks that backend instead of skipping it
$(VENV)/.installed-dev: $(VENV)/.installed
	$(BIN)/python -m pip install --quiet -e ".[dev,docs]"
	$(BIN)/python -m pip install --quiet --no-build-isolation "torch-scatter>=2.1"
	touch $@

venv: $(VENV)/.installed

dev: $(VENV)/.installed-dev

demo: $(VENV)/.installed
	$(BIN)/gnnkit demo

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -q

# KaTeX for the docs' maths, from npm into docs/assets/katex/ (mkdocs' hook does it too)
docs-assets: $(VENV)/.installed-dev
	$(BIN)/python docs/_ext/katex_assets.py

docs: docs-assets
	$(BIN)/mkdocs build --strict

# opens the built site in headless Chromium: no console error, no failed or outside
# request, maths rendered; screenshots in build/docs-check/
docs-check: docs
	$(BIN)/python tests/docs/browser_check.py site build/docs-check

# sdist, then the wheel built from it (--no-isolation: the [dev] extra brings build and
# setuptools>=77); the wheel alone in a fresh venv runs `gnnkit --help` and a tiny training
# run from outside the checkout. The fresh venv (no pip or setuptools of its own) reads
# torch and the other dependencies from $(VENV) (a .pth line), so nothing is downloaded.
WHEEL_TMP ?= build/wheel-check
wheel-check: $(VENV)/.installed-dev
	rm -rf $(WHEEL_TMP) && mkdir -p $(WHEEL_TMP)
	$(BIN)/python -m build --no-isolation --outdir $(WHEEL_TMP)/dist .
	$(PYTHON) -m venv --without-pip $(WHEEL_TMP)/venv
	$(BIN)/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])" \
		> "$$($(WHEEL_TMP)/venv/bin/python -c "import sysconfig; print(sysconfig.get_paths()['purelib'])")/deps-from-dev-venv.pth"
	# --no-index: every declared dependency must already be there, none is fetched
	$(BIN)/python -m pip --python $(WHEEL_TMP)/venv/bin/python install --quiet --no-index $(WHEEL_TMP)/dist/gnnkit-*.whl
	cd $(WHEEL_TMP) && venv/bin/python -c "import gnnkit, sys; assert 'wheel-check/venv' in gnnkit.__file__, gnnkit.__file__"
	cd $(WHEEL_TMP) && venv/bin/gnnkit --help > /dev/null && venv/bin/gnnkit demo --quiet --epochs 50

clean:
	rm -rf $(VENV) build dist site docs/assets/katex *.egg-info
