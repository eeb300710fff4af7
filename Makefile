# Two commands do all the set-up on a fresh machine (Python 3.10-3.13 with venv, and make):
#   make demo   the main job on the built-in sample data
#   make test   the whole test suite, as CI runs it (.ci/run calls `make test`)
PYTHON ?= python3
# Two tested dependency sets pin the ends of pyproject.toml's ranges: constraints.txt (numpy 2, TensorFlow 2.21; the
# default) and constraints-low.txt (numpy 1.26, TensorFlow 2.18), each in its own venv.
CONSTRAINTS ?= constraints.txt
VENV   ?= .venv
BIN    := $(VENV)/bin
# The stamp is named after the dependency files' content, not their times: nbdev-export rewrites pyproject.toml
# unchanged, and a time-based stamp would reinstall everything between the sync check and the tests.
DEPS   := $(shell cat pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)
STAMP  := $(VENV)/.installed-$(DEPS)

.PHONY: demo test install sync-check nbtest pytest pytest-low colab-check clean

$(STAMP):
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -qq --upgrade pip
	$(BIN)/python -m pip install -qq -c $(CONSTRAINTS) -e ".[dev]"
	rm -f $(VENV)/.installed*; touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/vww-kit demo

# Notebooks are the source: exporting and cleaning them, and making README.md from nbs/index, must change nothing committed.
sync-check: $(STAMP)
	@before="$$(git status --porcelain)"; \
	$(BIN)/nbdev-export && $(BIN)/nbdev-clean && $(BIN)/python tools/readme.py; \
	after="$$(git status --porcelain)"; \
	if [ "$$before" != "$$after" ]; then \
	  echo "nbdev-export / nbdev-clean / tools/readme.py changed files: commit the exported modules, clean notebooks and README."; \
	  git status --porcelain; git --no-pager diff --stat; exit 1; fi; \
	echo "nbdev sync check: clean"

nbtest: $(STAMP)
	$(BIN)/nbdev-test --flags slow --n-workers 2

pytest: $(STAMP)
	$(BIN)/python -m pytest -q

# The same tests on the other tested set (numpy 1.26, TensorFlow 2.18, opencv 4.10)
pytest-low:
	$(MAKE) pytest VENV=.venv-low CONSTRAINTS=constraints-low.txt

# A venv shaped like a Colab runtime: installing vww_kit must change none of what it has; then the notebooks' first cells
colab-check:
	$(PYTHON) tools/colab_check.py .venv-colab

test: sync-check nbtest pytest colab-check pytest-low

clean:
	rm -rf $(VENV) .venv-low .venv-colab
