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
JOBS ?= 1
CHAOS_ARGS := $(if $(TIER),--tier $(TIER)) $(if $(SCENARIO),--scenario $(SCENARIO)) $(if $(SEED),--seed $(SEED)) \
	$(if $(filter-out 1,$(JOBS)),--parallel $(JOBS))

.PHONY: help venv lint test test-fast bench host images up down logs chaos clean

help:
	@echo "make chaos   - set up Docker, build images, start the lab and run every chaos tier (TIER= SCENARIO= SEED= JOBS=)"
	@echo "make test    - every test: unit, in-process chaos tiers and the Docker lab"
	@echo "make test-fast - every test but the Docker lab"
	@echo "make bench   - benchmarks, as ratios against baselines measured in the same run"
	@echo "make images | up | down | logs - the lab stack on its own"

$(STAMP): pyproject.toml engine/pyproject.toml
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

test: lint host images
	$(VENV)/bin/pytest --junitxml=reports/pytest-junit.xml

bench: $(STAMP)
	$(PY) -m bench

host:
	bash compose/host-setup.sh

images: $(STAMP) host
	bash compose/build-images.sh

up: images
	$(PY) -m chaos_lab.docker_lab up

down: $(STAMP)
	$(PY) -m chaos_lab.docker_lab down

logs: $(STAMP)
	$(PY) -m chaos_lab.docker_lab logs

chaos: images
	$(VENV)/bin/chaos-lab run $(CHAOS_ARGS)

clean: down
	rm -rf $(VENV) reports .cache
