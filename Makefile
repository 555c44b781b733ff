# SCNN: one build. `make` builds ./scnn; `make test` and `make bench` set up everything they need.
# Options: SANITIZE=1 (ASan+UBSan, build-san/), OPENMP=0 (no OpenMP, no omp backend),
#          MPI=0 (no Open MPI; default: MPI where mpicc is found; core/dist.o is rebuilt by
#          every make, so the two share a build folder),
#          CI=true (warnings are errors). `make fuzz` runs the libFuzzer targets (fuzz/).
CC      ?= gcc
CXX     ?= g++
OPENMP  ?= 1
SANITIZE ?= 0
# Deferred (=, not :=): make deps may install mpicc after this Makefile was read.
MPI     ?= $(if $(shell command -v mpicc 2>/dev/null),1,0)

CFLAGS_COMMON := -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
                 -D_GNU_SOURCE -Iinclude -I. -MMD -MP
LDLIBS   = -lz -lpng -lm $(MPI_LIBS)
ifeq ($(CI),true)
  CFLAGS_COMMON += -Werror
endif

BUILD := build
ifeq ($(SANITIZE),1)
  BUILD := build-san
  CFLAGS_COMMON += -O1 -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
  LDFLAGS += -fsanitize=address,undefined
endif
ifeq ($(OPENMP),0)
  BUILD := $(BUILD)-noomp
endif
# MPI=1: only core/dist.o sees <mpi.h> (mpicc's flags; it is compiled afresh by every make, as
# version.o is, so a change of MPI needs no build folder of its own); every program links libmpi.
ifeq ($(FUZZ),1)
  MPI := 0
endif
MPI_CFLAGS = $(if $(filter 1,$(MPI)),-DSCNN_MPI $(shell mpicc --showme:compile))
MPI_LIBS   = $(if $(filter 1,$(MPI)),$(shell mpicc --showme:link))
# FUZZ=1: the libFuzzer build of `make fuzz` (fuzz/fuzz.mk): clang, ASan+UBSan, no OpenMP, and
# FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION (the readers skip their CRC comparisons).
ifeq ($(FUZZ),1)
  CC := clang
  OPENMP := 0
  BUILD := build-fuzz
  CFLAGS_COMMON += -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all \
                   -fno-omit-frame-pointer -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  LDFLAGS += -fsanitize=address,undefined
endif

# Only the avx2 and omp kernels get -mavx2 -mfma, only the avx512 ones (kernels/avx512 and
# kernels/omp/omp512*) the AVX-512 flags: the choice is made at run time.
SIMD_FLAGS := -mavx2 -mfma
AVX512_FLAGS := $(SIMD_FLAGS) -mavx512f -mavx512dq -mavx512bw -mavx512vl
OMP_FLAGS  :=
ifeq ($(OPENMP),1)
  OMP_FLAGS := -fopenmp
  LDFLAGS   += -fopenmp
endif

LIB_SRC := $(wildcard core/*.c kernels/*.c kernels/naive/*.c kernels/im2col/*.c model/*.c datasets/*.c report/*.c lib/*.c)
AVX_SRC := $(wildcard kernels/avx2/*.c)
AVX512_SRC := $(wildcard kernels/avx512/*.c)
OMP_SRC := $(if $(filter 1,$(OPENMP)),$(wildcard kernels/omp/*.c))
# The registry references these backends weakly, which does not pull them out of the archive.
IM2COL_SRC := $(wildcard kernels/im2col/*.c)
LDFLAGS += $(if $(IM2COL_SRC),-u scnn_backend_im2col) $(if $(AVX_SRC),-u scnn_backend_avx2) $(if $(OMP_SRC),-u scnn_backend_omp) \
           $(if $(AVX512_SRC),-u scnn_backend_avx512 -u scnn_avx512_fma_probe) \
           $(if $(filter kernels/omp/omp512_backend.c,$(OMP_SRC)),-u scnn_backend_omp512)
ALL_LIB_SRC := $(LIB_SRC) $(AVX_SRC) $(AVX512_SRC) $(OMP_SRC)
LIB_OBJ := $(ALL_LIB_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libscnn.a

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL := $(BUILD)/tests/testutil.o

SCNN := $(BUILD)/scnn

.PHONY: all deps data test check-layers bench reproduce models-manifest lib install install-files \
        uninstall clean help fuzz FORCE
all: $(SCNN) scnn

scnn: $(SCNN)
	@if [ "$(BUILD)" = build ]; then ln -sf $(SCNN) scnn; fi

# Per-folder ISA flags, for the static objects and the shared library's PIC ones alike.
$(BUILD)/kernels/avx2/%.o $(BUILD)/pic/kernels/avx2/%.o: ISA_FLAGS = $(SIMD_FLAGS)
$(BUILD)/kernels/avx512/%.o $(BUILD)/pic/kernels/avx512/%.o: ISA_FLAGS = $(AVX512_FLAGS)
$(BUILD)/kernels/omp/%.o $(BUILD)/pic/kernels/omp/%.o: ISA_FLAGS = $(SIMD_FLAGS) $(OMP_FLAGS)
# omp512 runs the avx512 kernels; the item scheduler needs no ISA at all.
$(BUILD)/kernels/omp/omp512%.o $(BUILD)/pic/kernels/omp/omp512%.o: ISA_FLAGS = $(AVX512_FLAGS) $(OMP_FLAGS)
$(BUILD)/kernels/omp/omp_pfor.o $(BUILD)/pic/kernels/omp/omp_pfor.o: ISA_FLAGS = $(OMP_FLAGS)
$(BUILD)/core/dist.o $(BUILD)/pic/core/dist.o: ISA_FLAGS = $(MPI_CFLAGS)
$(BUILD)/core/dist.o $(BUILD)/pic/core/dist.o: FORCE
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
# VERSION is the one source of the version (scnn --version, libscnn.so's name, scnn.pc).
VERSION   := $(shell cat VERSION)
SOVERSION := $(firstword $(subst ., ,$(VERSION)))
VERSION_FLAGS = -DSCNN_GIT_REV='"$(GIT_REV)"' -DSCNN_VERSION='"$(VERSION)"'
$(BUILD)/core/version.o: core/version.c VERSION FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(VERSION_FLAGS) -c $< -o $@
FORCE:

# The installed data folder that `scnn predict`, `scnn eval` and libscnn look in for the shipped
# models (build and install with the same PREFIX).
PREFIX ?= /usr/local
MODELS_FLAGS = -DSCNN_MODELS_DIR='"$(PREFIX)/share/scnn/models"'
$(BUILD)/tools/models.o $(BUILD)/lib/libscnn.o $(BUILD)/pic/lib/libscnn.o: CFLAGS_COMMON += $(MODELS_FLAGS)

# libscnn.so: the library's objects again, position-independent and with only the public API
# (include/libscnn.h, lib/libscnn.map) visible.
PIC_OBJ := $(ALL_LIB_SRC:%.c=$(BUILD)/pic/%.o)
SHLIB   := $(BUILD)/libscnn.so.$(VERSION)
PIC_FLAGS := -fPIC -fvisibility=hidden
$(BUILD)/pic/core/version.o: core/version.c VERSION FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(PIC_FLAGS) $(VERSION_FLAGS) -c $< -o $@
$(BUILD)/pic/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(PIC_FLAGS) $(ISA_FLAGS) -c $< -o $@
$(SHLIB): $(PIC_OBJ) lib/libscnn.map
	$(CC) -shared -Wl,-soname,libscnn.so.$(SOVERSION) -Wl,--version-script=lib/libscnn.map \
	  -Wl,--no-undefined $(LDFLAGS) $(PIC_OBJ) $(LDLIBS) -o $@
# What a static link needs besides the archive: the weakly registered backends kept, the libraries.
LIBS_PRIVATE := $(filter -u%,$(subst -u ,-u,$(LDFLAGS))) $(OMP_FLAGS) $(LDLIBS)
$(BUILD)/scnn.pc: lib/scnn.pc.in VERSION Makefile
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@VERSION@|$(VERSION)|' \
	    -e 's|@LIBS_PRIVATE@|$(patsubst -u%,-Wl$(comma)-u$(comma)%,$(LIBS_PRIVATE))|' $< > $@
comma := ,
lib: $(SHLIB) $(LIB) $(BUILD)/scnn.pc

# make install [PREFIX=/usr/local] [DESTDIR=stage]: the program, both libraries, the public
# header, scnn.pc, the man page scnn(1) (help2man over the --help texts: tools/man.sh) and the
# shipped models; make uninstall removes exactly those.
BINDIR   := $(PREFIX)/bin
LIBDIR   := $(PREFIX)/lib
INCDIR   := $(PREFIX)/include
PCDIR    := $(LIBDIR)/pkgconfig
MODELDIR := $(PREFIX)/share/scnn/models
MANDIR   := $(PREFIX)/share/man/man1
install: all lib install-files
install-files:
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) $(DESTDIR)$(INCDIR) $(DESTDIR)$(PCDIR)
	install -m 755 $(SCNN) $(DESTDIR)$(BINDIR)/scnn
	install -m 644 $(SHLIB) $(LIB) $(DESTDIR)$(LIBDIR)/
	ln -sf libscnn.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libscnn.so.$(SOVERSION)
	ln -sf libscnn.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libscnn.so
	install -m 644 include/libscnn.h $(DESTDIR)$(INCDIR)/
	install -m 644 $(BUILD)/scnn.pc $(DESTDIR)$(PCDIR)/
	@if command -v help2man >/dev/null 2>&1; then install -d $(DESTDIR)$(MANDIR) && \
	  sh tools/man.sh $(SCNN) $(DESTDIR)$(MANDIR)/scnn.1; \
	else echo "install: warning: help2man missing (make deps installs it): no man page" >&2; fi
	cd models && find . -type f | while read -r f; do \
	  install -D -m 644 "$$f" "$(DESTDIR)$(MODELDIR)/$$f" || exit 1; done
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/scnn $(DESTDIR)$(LIBDIR)/libscnn.so.$(VERSION) \
	  $(DESTDIR)$(LIBDIR)/libscnn.so.$(SOVERSION) $(DESTDIR)$(LIBDIR)/libscnn.so \
	  $(DESTDIR)$(LIBDIR)/libscnn.a $(DESTDIR)$(INCDIR)/libscnn.h $(DESTDIR)$(PCDIR)/scnn.pc \
	  $(DESTDIR)$(MANDIR)/scnn.1
	rm -rf $(DESTDIR)$(MODELDIR)
	-rmdir $(DESTDIR)$(PREFIX)/share/scnn 2>/dev/null

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(ISA_FLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SCNN): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/*.c)) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UTIL) $(LIB)
	$(CC) $(LDFLAGS) $(filter-out %.a,$^) $(filter %.a,$^) $(LDLIBS) -lcmocka -o $@

# the two checkpoint tests share their fixture, the two backend tests their parity checks
$(BUILD)/tests/test_checkpoint $(BUILD)/tests/test_checkpoint_corrupt: $(BUILD)/tests/checkpoint_fixture.o
$(BUILD)/tests/test_backends $(BUILD)/tests/test_backends_broken: $(BUILD)/tests/backend_checks.o

deps:
	@sh datasets/deps.sh

data: deps
	@sh datasets/fetch.sh

# Each test binary runs under `timeout`; tests/run.sh prints one summary line.
test: data
	@$(MAKE) --no-print-directory -j$$(nproc) $(SCNN) $(TEST_BIN) $(if $(filter 1,$(SANITIZE)),,lib)
	@sh tests/check_layers.sh $(BUILD) $(CURDIR)
	@SCNN_BIN=$(abspath $(SCNN)) SCNN_BUILD=$(BUILD) SANITIZE=$(SANITIZE) OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} \
	  sh tests/run.sh $(TEST_BIN)

# No object of a lower floor refers to a symbol of a higher one (nm; tests/check_layers.sh).
check-layers: $(SCNN)
	@sh tests/check_layers.sh $(BUILD) $(CURDIR)

bench: data all bench-deps bench-ops bench-e2e
	@BUILD=$(BUILD) CC='$(CC)' BENCH_CFLAGS='$(CFLAGS_COMMON)' BENCH_SIMD_FLAGS='$(SIMD_FLAGS)' BENCH_AVX512_FLAGS='$(AVX512_FLAGS)' \
	  sh bench/run.sh

# models/MANIFEST from the shipped checkpoints (tools/ship_models.sh runs it after replacing them).
models-manifest: data $(BUILD)/tests/test_models
	@$(BUILD)/tests/test_models --write

# The seed's whole experiment (hours; resumable: run it again to continue).
reproduce: data all
	@sh tools/reproduce.sh

clean:
	rm -rf build build-san build-noomp build-san-noomp build-fuzz scnn

help:
	@sed -n '1,4p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include bench/bench.mk
-include bench/e2e.mk
include fuzz/fuzz.mk
