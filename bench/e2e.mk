# scnn_bench_e2e, the end-to-end half of `make bench` (bench/run.sh), and the harness test.
# Included at the end of the Makefile, after bench/bench.mk (whose $(BUILD)/bench/%.o rule
# compiles bench/e2e_*.c: one file per concept, bench/e2e.h says which).
BENCH_E2E := $(BUILD)/bench/scnn_bench_e2e
BENCH_E2E_OBJ := $(patsubst bench/%.c,$(BUILD)/bench/%.o,$(wildcard bench/e2e_*.c))

.PHONY: bench-e2e plots readme
bench-e2e: $(BENCH_E2E)

$(BENCH_E2E): $(BENCH_E2E_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# The harness test runs bench/run.sh (BENCH=quick) with both bench programs.
$(BUILD)/tests/test_bench_harness: | $(BENCH_E2E) $(BENCH_OPS)

# Redraws the plots of the latest results (or RESULTS=DIR) without measuring.
plots:
	@sh bench/run.sh --plots-only $(RESULTS)

# Rewrites README.md's results section from a results directory (default: the one
# bench/results/latest points at; RESULTS=DIR to choose another).
readme: $(BENCH_E2E)
	@SCNN_BENCH_E2E=$(BENCH_E2E) sh bench/readme.sh $(RESULTS)
