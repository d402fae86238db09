# Two commands: `make course` (run and render every notebook, into build/) and `make test` (all CI checks).
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
# The first Python >= 3.12 found: python3.12 on PATH, or a pyenv install of it (jax >= 0.11 needs 3.12).
PYTHON ?= $(shell for p in python3.12 python3.13 python3 $$HOME/.pyenv/versions/3.12*/bin/python3.12 /root/.pyenv/versions/3.12*/bin/python3.12; do \
	$$p -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null && { echo $$p; break; }; done)
# JAX keeps compiled programs here between runs, the small CPU programs of the course too
# (JAX reads these settings itself; course_lib.enable_compile_cache() sets the same).
export JAX_COMPILATION_CACHE_DIR ?= $(CURDIR)/.cache/jax
export JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS ?= 0
export JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES ?= -1
export PYTHONHASHSEED := 0
NOTEBOOKS := $(sort $(wildcard notebooks/week*.ipynb))

.PHONY: course test lint unit nbval clean setup notebook student bench slides site browser canary lock mutation recipes retrain
setup: $(VENV)/.installed

# Every package at the version and with the sha256 of requirements.lock (make lock writes it from
# pyproject.toml's pins), then course_lib itself, editable.
$(VENV)/.installed: pyproject.toml requirements.lock
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found (tried python3.12, python3.13, python3, ~/.pyenv/versions/3.12*)"; exit 2; }
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q --require-hashes -r requirements.lock
	$(PY) -m pip install -q --no-deps -e .
	$(PY) -m ipykernel install --sys-prefix --name python3 --display-name "Python 3 (course)" >/dev/null
	touch $@

# The repository the site's "Open in Colab" and Binder links point at (tools/site_pages.py;
# the notebooks' first code cell installs course_lib from the same address on Colab).
COURSE_REPO ?= https://github.com/fys5429/generative-models-companion
COURSE_BRANCH ?= main
export COURSE_REPO COURSE_BRANCH

## make course: execute every notebook into build/notebooks/ (the committed ones stay untouched),
## then render the executed copies as the offline site in build/site/
BUILD ?= build
course: setup node_modules/.installed
	$(PY) -m jupyter nbconvert --to notebook --execute --ExecutePreprocessor.timeout=1200 \
		--output-dir $(BUILD)/notebooks $(NOTEBOOKS)
	$(PY) tools/course_site.py site $(BUILD)/site $(addprefix $(BUILD)/notebooks/,$(notdir $(NOTEBOOKS)))

## make student: the notebooks without the worked solutions (cells tagged "solution")
student: setup
	$(PY) tools/course_site.py student build/student $(NOTEBOOKS)

## make slides: every notebook as a reveal.js deck in build/slides/, working offline
slides: setup node_modules/.installed
	$(PY) tools/course_site.py slides build/slides $(NOTEBOOKS)

## make site: the committed notebooks (not re-run) as pages, decks and an index in build/site/
site: setup node_modules/.installed
	$(PY) tools/course_site.py site build/site $(NOTEBOOKS)

# reveal.js, MathJax and Font Awesome for the offline pages, at the versions in package-lock.json
node_modules/.installed: package.json package-lock.json
	@command -v npm >/dev/null || { echo "error: npm not found; install Node.js 20 with npm (apt-get install -y nodejs npm)"; exit 2; }
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

# The site test opens the pages in Chromium, installed from Debian's packages when missing.
browser:
	@command -v chromium >/dev/null || { \
	  test "$$(id -u)" = 0 || { echo "error: chromium not found; install it (apt-get install -y chromium) or run make as root"; exit 2; }; \
	  export DEBIAN_FRONTEND=noninteractive; \
	  apt-get install -y -qq chromium >/dev/null 2>&1 || { apt-get update -qq && apt-get install -y -qq chromium >/dev/null; } || \
	  { echo "error: apt-get could not install chromium"; exit 2; }; }

## make recipes: train each built-in recipe from the command line with its defaults only
## (train MODEL --data NAME), then print what `evaluate` says (issue 18's check; ~minutes); then
## vdm and ddpm on a user's own 2-D files (tools/user_data.py: crescent, clusters, 8-bit
## spiral), evaluated on fresh samples, with evaluate's verdict against the baselines and the
## exact density's bits beside them, KDE - truth being the room a model has (issue 26)
RECIPE_RUNS ?= build/recipes
recipes: setup
	@mkdir -p $(RECIPE_RUNS)
	@set -e; for run in "gan ring" "gan grid" "binomial heartbeat" "ddpm digits"; do \
	  set -- $$run; out=$(RECIPE_RUNS)/$$1_$$2; rm -rf $$out; \
	  start=$$(date +%s); \
	  $(PY) -m course_lib train $$1 --data $$2 --out $$out --no-progress > /dev/null; \
	  echo "train $$1 --data $$2 ($$(( $$(date +%s) - start )) s); evaluate:"; \
	  $(PY) -m course_lib evaluate $$out --data $$2; \
	done
	@$(PY) tools/user_data.py $(RECIPE_RUNS)/user_data > /dev/null
	@set -e; for run in "vdm crescent" "vdm clusters" "vdm spiral8" "ddpm crescent" \
	  "ddpm clusters" "ddpm spiral8"; do \
	  set -- $$run; data=$(RECIPE_RUNS)/user_data/$$2; out=$(RECIPE_RUNS)/$$1_user_$$2; \
	  rm -rf $$out; q=$$([ $$2 = spiral8 ] && echo "--quantized 8" || true); start=$$(date +%s); \
	  $(PY) -m course_lib train $$1 --data $$data.npy $$q --out $$out --no-progress > /dev/null; \
	  echo "train $$1 --data $$2.npy $$q ($$(( $$(date +%s) - start )) s); evaluate on fresh:"; \
	  $(PY) -m course_lib evaluate $$out --data $${data}_fresh.npy | tee $$out.json; \
	  $(PY) -c 'import json, sys; print("  " + json.load(open(sys.argv[1]))["verdict"])' $$out.json; \
	  $(PY) tools/user_data.py --truth $$2 $${data}_fresh.npy $$out; \
	done

## make test: linter, unit tests, then nbval re-running every notebook against its stored outputs
test: setup lint unit nbval

lint: setup
	$(PY) -m ruff check course_lib tests benchmarks tools

unit: setup node_modules/.installed browser
	$(PY) -m pytest -q tests -n 2 --dist worksteal

nbval: setup
	$(PY) -m pytest -q --nbval-lax --nbval-current-env -n 2 --dist loadfile $(NOTEBOOKS)

## make retrain: rebuild every file of data/pretrained from the command its sidecar records, in
## build/retrain (the shipped files stay untouched), and compare each with the shipped one: one
## line per file, exit status 1 on any mismatch. A subset: make retrain FILES='week16_gans/ring_*'
## Files made on a GPU (week17_ising's models and generated sets) are listed as not checked on a
## machine without one. 34 minutes for the other 57 on the 2-core CPU (benchmarks/RESULTS.md).
FILES ?=
retrain: setup
	set -f; $(PY) -m course_lib pretrained retrain $(FILES)

## make canary: a scratch venv with the newest jax, flax, optax, numpy and matplotlib (past the
## pins), the unit tests and nbval run there; prints what broke. Not part of make test.
CANARY := .venv-canary
canary:
	@test -n "$(PYTHON)" || { echo "error: no Python >= 3.12 found"; exit 2; }
	rm -rf $(CANARY)
	$(PYTHON) -m venv $(CANARY)
	$(CANARY)/bin/python -m pip install -q --upgrade pip
	$(CANARY)/bin/python -m pip install -q -e ".[notebooks,dev]"
	$(CANARY)/bin/python -m pip install -q --upgrade jax jaxlib flax optax numpy matplotlib 2>&1 \
		| grep -v "requires .*, but you have" || true
	$(CANARY)/bin/python tools/canary.py

## make lock: re-resolve requirements.lock from pyproject.toml: every package of the environment,
## pinned, with its sha256 hashes, for Linux, macOS and Windows alike (uv's --universal)
lock: setup
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra notebooks --extra dev --universal \
		--python-version 3.12 --generate-hashes --quiet -o requirements.lock

## make mutation: mutation testing of the numerical core with cosmic-ray (slow: not part of
## make test): a fixed sample of MUTATION_SAMPLE mutants per target (0: all of them);
## MUTATE="metrics ising" picks targets (see tools/mutation.py); report in build/mutation/
MUTATION_SAMPLE ?= 25
mutation: setup
	$(PY) -m pip install -q "cosmic-ray==8.7.0"  # the mutation extra of pyproject.toml
	$(PY) tools/mutation.py --sample $(MUTATION_SAMPLE) $(MUTATE)

## make bench: course_lib against PyTorch eager (torch 2.13.0, CPU build, Python 3.11 venv)
PY311 ?= $(shell for p in python3.11 $$HOME/.pyenv/versions/3.11*/bin/python3.11 /root/.pyenv/versions/3.11*/bin/python3.11; do \
	$$p -c '' 2>/dev/null && { echo $$p; break; }; done)
.venv-bench/.installed:
	@test -n "$(PY311)" || { echo "error: make bench needs python3.11 (the CPU build of torch 2.13.0 is for 3.11)"; exit 2; }
	$(PY311) -m venv .venv-bench
	.venv-bench/bin/pip install -q torch==2.13.0 numpy
	touch $@

bench: setup .venv-bench/.installed
	$(PY) benchmarks/run.py

clean:
	rm -rf build .cache

## make notebook NB=notebooks/week16_gans.py: sync the pair, execute in place, sync again
notebook: setup
	@test -n "$(NB)" || { echo "error: give NB=notebooks/NAME.py (or .ipynb)"; exit 2; }
	$(VENV)/bin/jupytext --sync $(basename $(NB)).py
	$(PY) -m jupyter nbconvert --to notebook --execute --inplace --ExecutePreprocessor.timeout=1200 $(basename $(NB)).ipynb
	$(VENV)/bin/jupytext --sync $(basename $(NB)).ipynb
