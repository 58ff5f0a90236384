# `make` builds the dossier; `make test` runs the tests. The first run creates .venv
# and installs the pinned dependencies (requirements*.lock) into it.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
TEST_STAMP := $(VENV)/.installed-test

.PHONY: all dossier html test bench clean lock watch

all: dossier

$(STAMP): requirements.lock
	@# WeasyPrint subsets fonts five times faster with HarfBuzz's subsetter (a system library,
	@# which WeasyPrint will soon require); without it the build works, more slowly.
	@ldconfig -p 2>/dev/null | grep -q libharfbuzz-subset || \
	  ( (apt-get update -qq && apt-get install -y -qq libharfbuzz-subset0) >/dev/null 2>&1 \
	    || echo "note: could not install libharfbuzz-subset0; builds will be slower" )
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.lock
	touch $@

$(TEST_STAMP): $(STAMP) requirements-test.lock
	@# The test of watch's preview drives a real headless browser: Debian's Chromium (no download
	@# of its own). Without it that test fails, saying so.
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
	  ( (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null 2>&1 \
	    || echo "note: could not install chromium; the browser test of watch will fail" )
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-test.lock
	touch $@

# The pipeline's own bytecode, compiled ahead: Python otherwise compiles every module of it on
# each run where PYTHONDONTWRITEBYTECODE is set, as it is in many containers (0.2 s a build).
BYTECODE := dossier/__pycache__/.compiled
$(BYTECODE): $(STAMP) $(shell find dossier -name '*.py')
	$(PY) -m compileall -q dossier
	@mkdir -p $(@D) && touch $@

dossier: $(STAMP) $(BYTECODE)
	$(PY) build.py all

html: $(STAMP) $(BYTECODE)
	$(PY) build.py html

test: $(TEST_STAMP)
	$(PY) -m pytest

bench: $(STAMP) $(BYTECODE)
	$(PY) bench/run.py

clean:
	rm -rf output tests/projects/*/output

# Re-freeze the pinned runtime versions after changing pyproject.toml's dependencies
# (in a scratch environment, so that test-only packages stay out of requirements.lock).
lock:
	rm -rf .venv-lock && $(PYTHON) -m venv .venv-lock
	.venv-lock/bin/pip install --quiet $$($(PYTHON) -c 'import tomllib; print(" ".join(tomllib.load(open("pyproject.toml","rb"))["project"]["dependencies"]))')
	.venv-lock/bin/pip freeze > requirements.lock && rm -rf .venv-lock

# Rebuild on every save, with a live preview at http://127.0.0.1:8000/ (the pages as they print, and the HTML)
watch: $(STAMP) $(BYTECODE)
	$(PY) build.py watch
