# tcpmax: the two commands of the README, plus bench.
#   make run    install what is missing, build (Release), run the main job
#   make test   the same set-up, then every test (ctest); fails on any failure
#   make bench  long scale runs: benchmarks under bench/, figures for bench/RESULTS.md
#   make install      the binary, man pages, bash/zsh completion and docs under
#                     PREFIX (default /usr/local), inside DESTDIR when given
#   make uninstall    removes what the last make install wrote
#   make deb          a Debian package of this build: $(BUILD)/package/tcpmax_*.deb
BUILD  ?= build
JOBS   ?= $(shell nproc)
PREFIX ?= /usr/local
DESTDIR ?=
TCPMAX := $(BUILD)/tcpmax
# The MPI transport of distributed runs when Open MPI's compiler wrapper is
# installed (scripts/install-deps installs libopenmpi-dev); a plain cmake
# build leaves it off.
MPI_FLAG := $(if $(shell command -v mpicc),-DTCPMAX_MPI=ON,-DTCPMAX_MPI=OFF)

.PHONY: all deps configure build run test bench clean install uninstall deb

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

# Only what is installed is built: the binary and its generated pages.
install: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target tcpmax tcpmax_docs
	DESTDIR="$(DESTDIR)" cmake --install $(BUILD) --component tcpmax
	@cp $(BUILD)/install_manifest_tcpmax.txt $(BUILD)/make_install_manifest.txt

uninstall:
	DESTDIR="$(DESTDIR)" cmake -DMANIFEST=$(BUILD)/make_install_manifest.txt -P cmake/uninstall.cmake

deb: configure
	@cmake --build $(BUILD) -j $(JOBS) --target tcpmax tcpmax_docs
	cd $(BUILD) && cpack -G DEB
	@ls $(BUILD)/package/tcpmax_*.deb

clean:
	rm -rf $(BUILD)
