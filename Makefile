# One entry point for people and CI. `make chaos` runs the lab, `make test` runs every test.
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
STAMP := $(VENV)/.installed
export COMPOSE_PROJECT_NAME ?= solat-lab

TIER ?=
SCENARIO ?=
SEED ?=
# Lab instances for `make chaos` and `make selftest`: the machine's rule (chaos_lab/lab/jobs.py,
# standard library only: one per core, at most one per 2 GiB, at most 4), 2 on the 2-core lab host.
JOBS ?= $(shell $(PYTHON) chaos_lab/lab/jobs.py 2>/dev/null || echo 1)
FILE ?=
CHAOS_ARGS := $(if $(FILE),--file $(FILE)) $(if $(TIER),--tier $(TIER)) $(if $(SCENARIO),--scenario $(SCENARIO)) \
	$(if $(SEED),--seed $(SEED)) $(if $(filter-out 1,$(JOBS)),--parallel $(JOBS))
# Tier 4 also enumerates crash states (docs/crash-states.md); bounded so a warm `make chaos` stays < 5 min.
CRASHSTATES_ARGS ?= --signals 20 --model both --max-states 3000 $(if $(SEED),--seed $(SEED))
RUN_CRASHSTATES := $(if $(SCENARIO)$(FILE),,$(if $(filter-out 4,$(TIER)),,yes))
# `make chaos` checks its variables before anything is installed or built (chaos-vars below): with a bad SEED
# it used to set up Docker and build every image first. Ordered before host and the venv even under -j.
CHAOS_VARS := $(if $(filter chaos,$(MAKECMDGOALS)),chaos-vars)
# The variables single-quoted for the shell, whatever they hold.
sq = '$(subst ','"'"',$(1))'


RUNS ?= 20

.PHONY: help venv lint test test-fast bench host images up down logs chaos chaos-vars soak selftest clean

help:
	@echo "make chaos   - set up Docker, build images, start the lab and run every chaos tier (TIER= SCENARIO= SEED= JOBS=);"
	@echo "               FILE=path runs one scenario or incident file (chaos-lab run --file path)"
	@echo "               tier 4 also enumerates the engine's crash states (chaos-lab crashstates); tier 5 is corpus/"
	@echo "make test    - every test: unit, in-process chaos tiers and the Docker lab"
	@echo "make test-fast - every test but the Docker lab"
	@echo "make bench   - benchmarks, as ratios against baselines measured in the same run"
	@echo "make soak RUNS=N - an idle baseline run, then N full runs of every tier with stress-ng on every core"
	@echo "make selftest - the lab's mutation score: engine mutants x scenarios (opt-in, ~15-30 min)"
	@echo "make images | up | down | logs - the lab stack on its own"

$(STAMP): pyproject.toml engine/pyproject.toml | $(CHAOS_VARS)
	$(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -e ./engine -e '.[dev]'
	touch $@

venv: $(STAMP)

lint: $(STAMP)
	$(VENV)/bin/ruff check engine chaos_lab tests bench

# Everything but the Docker lab: quick feedback while editing.
test-fast: $(STAMP)
	$(VENV)/bin/pytest -m "not lab"

# The suite on TEST_JOBS pytest-xdist workers, each with its own lab (tests/lab/conftest.py): one more than the
# labs of `make chaos` (chaos_lab/lab/jobs.py: a lab test mostly waits out a fault's hold), 3 on the 2-core
# host; worksteal: a worker that runs out takes another's queue from its end.
TEST_JOBS ?= $(shell $(PYTHON) chaos_lab/lab/jobs.py --test-workers 2>/dev/null || echo 1)
PYTEST_JOBS := $(if $(filter-out 1,$(TEST_JOBS)),-n $(TEST_JOBS) --dist worksteal)

test: lint host images
	$(VENV)/bin/pytest $(PYTEST_JOBS) --junitxml=reports/pytest-junit.xml

bench: $(STAMP)
	$(PY) -m bench

host: | $(CHAOS_VARS)
	bash compose/host-setup.sh

images: $(STAMP) host
	bash compose/build-images.sh

up: images
	$(PY) -m chaos_lab.lab.docker up

down: $(STAMP)
	$(PY) -m chaos_lab.lab.docker down

logs: $(STAMP)
	$(PY) -m chaos_lab.lab.docker logs

# Plain bash, no venv: SEED a non-negative integer, TIER 1-5, JOBS a positive integer, FILE an existing file
# (and not with TIER or SCENARIO). One line and exit 2, as chaos-lab itself refuses bad usage.
chaos-vars:
	@seed=$(call sq,$(SEED)) tier=$(call sq,$(TIER)) jobs=$(call sq,$(JOBS)) file=$(call sq,$(FILE)) \
	scenario=$(call sq,$(SCENARIO)); \
	fail() { echo "make chaos: $$1" >&2; exit 2; }; \
	[[ -z $$seed || $$seed =~ ^[0-9]+$$ ]] || fail "SEED=$$seed: must be a non-negative integer"; \
	[[ -z $$tier || $$tier =~ ^[1-5]$$ ]] || fail "TIER=$$tier: must be 1, 2, 3, 4 or 5 (5: the corpus)"; \
	[[ $$jobs =~ ^0*[1-9][0-9]*$$ ]] || fail "JOBS=$$jobs: must be a positive integer"; \
	[[ -z $$file || -f $$file ]] || fail "FILE=$$file: no such file"; \
	[[ -z $$file || -z $$tier$$scenario ]] || fail "FILE=$$file runs that file: not with TIER or SCENARIO"

# The crash-state check runs after the scenario runs, not beside them: overlapped on 2 cores it saved 5 %
# (docs/chaos-lab.md, Timing; its recovery workers take the cores the labs' engines need), less than one run's
# spread, and a job in the background of this shell would not get Ctrl-C.
chaos: chaos-vars images
ifeq ($(RUN_CRASHSTATES),yes)
	rc=0; $(VENV)/bin/chaos-lab run $(CHAOS_ARGS) || rc=$$?; \
	$(VENV)/bin/chaos-lab crashstates $(CRASHSTATES_ARGS) || rc=$${rc/#0/$$?}; exit $$rc
else
	$(VENV)/bin/chaos-lab run $(CHAOS_ARGS)
endif

# Not part of `make test`: an idle baseline run, then RUNS full runs with every core kept busy (stress-ng,
# installed here when missing). Writes reports/soak-*/soak-summary.json; exit 1 on any runner error or verdict.
soak: images
	command -v stress-ng >/dev/null || { apt-get update -qq && apt-get install -y -qq stress-ng; }
	$(PY) -m chaos_lab.cli.soak --runs $(RUNS) $(if $(TIER),--tier $(TIER))

selftest: images
	$(VENV)/bin/chaos-lab selftest $(if $(JOBS),--parallel $(JOBS))

clean: down
	rm -rf $(VENV) reports .cache
