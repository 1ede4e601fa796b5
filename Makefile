# The README's two commands: `make notebooks` and `make test`. Both set up .venv first if needed.
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
# extra nbdev test flags, e.g. `make test FLAGS="cuda slow"` on a GPU machine
FLAGS  ?=

.PHONY: notebooks test setup lab
notebooks: $(VENV)/.installed  ## execute every notebook headless, in order -> build/notebooks/
	$(BIN)/python scripts/run_notebooks.py --out build/notebooks $(if $(FLAGS),--flags "$(FLAGS)")

test: $(VENV)/.installed       ## nbdev sync check, nbdev_test on every notebook, pytest tests
	$(BIN)/python scripts/run_tests.py $(if $(FLAGS),--flags "$(FLAGS)")

setup: $(VENV)/.installed

lab: $(VENV)/.installed        ## start JupyterLab on the notebooks
	$(BIN)/jupyter lab nbs/

$(VENV)/.installed: setup.py settings.ini constraints.txt
	$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 10), "hififace needs Python >= 3.10"'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e ".[dev]"
	touch $@
