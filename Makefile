# tcpmax: the two commands of the README, plus bench.
#   make run    install what is missing, build (Release), run the main job
#   make test   the same set-up, then every test (ctest); fails on any failure
#   make bench  long scale runs: benchmarks under bench/, figures for bench/RESULTS.md
BUILD ?= build
JOBS  ?= $(shell nproc)
TCPMAX := $(BUILD)/tcpmax
# The MPI transport of distributed runs when Open MPI's compiler wrapper is
# installed (scripts/install-deps installs libopenmpi-dev); a plain cmake
# build leaves it off.
MPI_FLAG := $(if $(shell command -v mpicc),-DTCPMAX_MPI=ON,-DTCPMAX_MPI=OFF)

.PHONY: all deps configure build run test bench clean

all: build

deps:
	@scripts/install-deps

configure: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release $(MPI_FLAG) >/dev/null

build: configure
	@cmake --build $(BUILD) -j $(JOBS)

run: build
	@scripts/run-main $(TCPMAX)

test: build
	cd $(BUILD) && ctest --output-on-failure --no-tests=error -j $(JOBS)

bench: build
	@bench/run-all $(BUILD)

clean:
	rm -rf $(BUILD)
