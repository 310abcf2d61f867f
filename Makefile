# PConv: two commands.
#   make demo   set up, then compile a pattern-pruned CNN for host and AArch64,
#               run both, check them against PyTorch, print a report
#   make test   set up, then lit (IR tests) and pytest (numerics, API)
#   make bench  install the peer engines, then benchmark every engine side by side
#               (make bench-quick: 3-4 min here; results in benchmarks/results/)
PY := .venv/bin/python

.PHONY: all setup build demo test lit pytest clean bench bench-quick bench-install

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

# Benchmarks (benchmarks/README.md). BENCH_ARGS passes extra options to benchmarks/run.py.
bench-install: setup
	@bash benchmarks/install.sh || echo "[bench] some engines did not install; their rows will say why"

bench: bench-install
	@$(PY) -m benchmarks.run $(BENCH_ARGS)

bench-quick: bench-install
	@$(PY) -m benchmarks.run --quick $(BENCH_ARGS)
