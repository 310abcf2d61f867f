# PConv: two commands.
#   make demo   set up, then compile a pattern-pruned CNN for host and AArch64,
#               run both, check them against PyTorch, print a report
#   make test   set up, then lit (IR tests) and pytest (numerics, API)
PY := .venv/bin/python

.PHONY: all setup build demo test lit pytest clean

all: demo

setup:
	@bash scripts/setup.sh

build: setup

demo: setup
	@$(PY) examples/demo.py

lit: setup
	@.venv/bin/lit -sv test

pytest: setup
	@$(PY) -m pytest -q test/python

test: setup
	@.venv/bin/lit -sv test
	@$(PY) -m pytest -q test/python

clean:
	rm -rf build
