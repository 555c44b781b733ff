# SCNN: one build. `make` builds ./scnn; `make test` and `make bench` set up everything they need.
# Options: SANITIZE=1 (ASan+UBSan, build-san/), OPENMP=0 (no OpenMP, no omp backend),
#          CI=true (warnings are errors).
CC      ?= gcc
CXX     ?= g++
OPENMP  ?= 1
SANITIZE ?= 0

CFLAGS_COMMON := -std=c11 -O2 -g -Wall -Wextra -Wshadow -Wno-unused-parameter \
                 -D_GNU_SOURCE -Iinclude -I. -MMD -MP
LDLIBS  := -lz -lpng -lm
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

# Only the avx2 and omp kernels get -mavx2 -mfma: the choice is made at run time.
SIMD_FLAGS := -mavx2 -mfma
OMP_FLAGS  :=
ifeq ($(OPENMP),1)
  OMP_FLAGS := -fopenmp
  LDFLAGS   += -fopenmp
endif

LIB_SRC := $(wildcard core/*.c kernels/*.c kernels/naive/*.c kernels/im2col/*.c model/*.c datasets/*.c report/*.c)
AVX_SRC := $(wildcard kernels/avx2/*.c)
OMP_SRC := $(if $(filter 1,$(OPENMP)),$(wildcard kernels/omp/*.c))
# The registry references these backends weakly, which does not pull them out of the archive.
IM2COL_SRC := $(wildcard kernels/im2col/*.c)
LDFLAGS += $(if $(IM2COL_SRC),-u scnn_backend_im2col) $(if $(AVX_SRC),-u scnn_backend_avx2) $(if $(OMP_SRC),-u scnn_backend_omp)
ALL_LIB_SRC := $(LIB_SRC) $(AVX_SRC) $(OMP_SRC)
LIB_OBJ := $(ALL_LIB_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libscnn.a

TEST_SRC  := $(wildcard tests/test_*.c)
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_UTIL := $(BUILD)/tests/testutil.o

SCNN := $(BUILD)/scnn

.PHONY: all deps data test check-layers bench reproduce models-manifest clean help FORCE
all: $(SCNN) scnn

scnn: $(SCNN)
	@if [ "$(BUILD)" = build ]; then ln -sf $(SCNN) scnn; fi

$(BUILD)/kernels/avx2/%.o: kernels/avx2/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SIMD_FLAGS) -c $< -o $@
$(BUILD)/kernels/omp/%.o: kernels/omp/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SIMD_FLAGS) $(OMP_FLAGS) -c $< -o $@
GIT_REV := $(shell git rev-parse --short=12 HEAD 2>/dev/null || echo unknown)$(shell git diff --quiet HEAD 2>/dev/null || echo -dirty)
$(BUILD)/core/version.o: core/version.c FORCE
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -DSCNN_GIT_REV='"$(GIT_REV)"' -c $< -o $@
FORCE:

# The installed data folder that `scnn predict` and `scnn eval` look in for the shipped models.
PREFIX ?= /usr/local
$(BUILD)/tools/models.o: CFLAGS_COMMON += -DSCNN_MODELS_DIR='"$(PREFIX)/share/scnn/models"'

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(SCNN): $(patsubst %.c,$(BUILD)/%.o,$(wildcard tools/*.c)) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_UTIL) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

deps:
	@sh datasets/deps.sh

data: deps
	@sh datasets/fetch.sh

# Each test binary runs under `timeout`; tests/run.sh prints one summary line.
test: data
	@$(MAKE) --no-print-directory -j$$(nproc) $(SCNN) $(TEST_BIN)
	@sh tests/check_layers.sh $(BUILD) $(CURDIR)
	@SCNN_BIN=$(abspath $(SCNN)) SANITIZE=$(SANITIZE) OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} \
	  sh tests/run.sh $(TEST_BIN)

# No object of a lower floor refers to a symbol of a higher one (nm; tests/check_layers.sh).
check-layers: $(SCNN)
	@sh tests/check_layers.sh $(BUILD) $(CURDIR)

bench: data all bench-deps bench-ops bench-e2e
	@BUILD=$(BUILD) CC='$(CC)' BENCH_CFLAGS='$(CFLAGS_COMMON)' BENCH_SIMD_FLAGS='$(SIMD_FLAGS)' \
	  sh bench/run.sh

# models/MANIFEST from the shipped checkpoints (tools/ship_models.sh runs it after replacing them).
models-manifest: data $(BUILD)/tests/test_models
	@$(BUILD)/tests/test_models --write

# The seed's whole experiment (hours; resumable: run it again to continue).
reproduce: data all
	@sh tools/reproduce.sh

clean:
	rm -rf build build-san build-noomp build-san-noomp scnn

help:
	@sed -n '1,4p' Makefile

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
-include bench/bench.mk
-include bench/e2e.mk
