# scnn_bench_ops, the per-operation benchmark, and its test (included at the end of Makefile).
#   make bench-ops                  builds $(BUILD)/bench/scnn_bench_ops
#   make bench-ops BENCH_PEERS=0    without the peers even where oneDNN/OpenBLAS are installed
# The peers (oneDNN, OpenBLAS) are optional: each is built only where its header and library
# link; otherwise the program says it skipped it and why. The probes run only when a bench
# target is built, so plain `make` never needs them.
BENCH_OPS := $(BUILD)/bench/scnn_bench_ops
BENCH_OBJ := $(addprefix $(BUILD)/bench/,ops.o ops_cli.o peak.o peak_fma.o peers_onednn.o \
               peers_openblas.o gbench_shim.o)
# The timing is Google Benchmark's (libbenchmark-dev, installed by `make deps`), through one
# C++ file; everything else stays C.
BENCH_GB_LIBS := -lbenchmark -lstdc++ -lpthread
CXXFLAGS_BENCH := $(filter-out -std=c11,$(CFLAGS_COMMON)) -std=c++17
BENCH_PEERS ?= 1

# 1 if a program including <$1> and calling $3 compiles and links with $2 (expanded once, on
# first use, so that only bench targets pay for the probe).
bench_probe = $(shell printf '#include <$(1)>\nint main(void){return $(3) == 0;}\n' | \
  $(CC) -x c - -o /dev/null $(2) >/dev/null 2>&1 && echo 1 || echo 0)
ifeq ($(BENCH_PEERS),1)
BENCH_ONEDNN = $(eval BENCH_ONEDNN := $(call bench_probe,dnnl.h,-ldnnl,dnnl_version()))$(BENCH_ONEDNN)
BENCH_OPENBLAS = $(eval BENCH_OPENBLAS := \
  $(call bench_probe,cblas.h,-lopenblas,openblas_get_config()))$(BENCH_OPENBLAS)
BENCH_WHY := not found
else
BENCH_ONEDNN := 0
BENCH_OPENBLAS := 0
BENCH_WHY := BENCH_PEERS=0
endif
# oneDNN runs on OpenMP threads; its peer sets their number, so it needs -fopenmp.
BENCH_PEER_FLAGS = $(if $(filter 1,$(BENCH_ONEDNN)),-DSCNN_HAVE_ONEDNN -fopenmp) \
                   $(if $(filter 1,$(BENCH_OPENBLAS)),-DSCNN_HAVE_OPENBLAS)
BENCH_PEER_LIBS = $(if $(filter 1,$(BENCH_ONEDNN)),-ldnnl -fopenmp) \
                  $(if $(filter 1,$(BENCH_OPENBLAS)),-lopenblas)

.PHONY: bench-ops bench-deps
bench-ops: $(BENCH_OPS)
# The bench's own dependency step (the PyTorch peer), apart from `make test`'s `make deps`.
bench-deps:
	@sh bench/deps.sh

# Rewritten only when the peer choice changes, so the peer objects rebuild exactly then.
$(BUILD)/bench/peers.flags: FORCE
	@mkdir -p $(dir $@)
	@echo '$(strip $(BENCH_PEER_FLAGS))' | cmp -s - $@ 2>/dev/null || \
	  echo '$(strip $(BENCH_PEER_FLAGS))' > $@
	@if [ "$(BENCH_ONEDNN)" != 1 ]; then echo "bench: without the oneDNN peer (<dnnl.h> + -ldnnl: $(BENCH_WHY))"; fi
	@if [ "$(BENCH_OPENBLAS)" != 1 ]; then echo "bench: without the OpenBLAS peer (<cblas.h> + -lopenblas: $(BENCH_WHY))"; fi

$(BUILD)/bench/peers_%.o: bench/peers_%.c $(BUILD)/bench/peers.flags
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(BENCH_PEER_FLAGS) -c $< -o $@
# Only the FMA probe's kernels get -mavx2 -mfma; peak.c checks the CPU before calling them.
$(BUILD)/bench/peak_fma.o: bench/peak_fma.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(SIMD_FLAGS) -c $< -o $@
$(BUILD)/bench/%.o: bench/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(OMP_FLAGS) -c $< -o $@
$(BUILD)/bench/gbench_shim.o: bench/gbench_shim.cc
	@mkdir -p $(dir $@)
	@test -f /usr/include/benchmark/benchmark.h || test -n "$$(printf '#include <benchmark/benchmark.h>\n' | $(CXX) -E -x c++ - 2>/dev/null)" || \
	  { echo "bench: Google Benchmark is missing (apt-get install libbenchmark-dev, or make deps)" >&2; exit 1; }
	$(CXX) $(CXXFLAGS_BENCH) -c $< -o $@

$(BENCH_OPS): $(BUILD)/bench/ops_main.o $(BENCH_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(BENCH_PEER_LIBS) $(LDLIBS) $(BENCH_GB_LIBS) -o $@

# The test links the harness itself (not the program), with the same peers.
$(BUILD)/tests/test_bench_ops: $(BUILD)/tests/test_bench_ops.o $(TEST_UTIL) $(BENCH_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(BENCH_PEER_LIBS) $(LDLIBS) -lcmocka $(BENCH_GB_LIBS) -o $@
