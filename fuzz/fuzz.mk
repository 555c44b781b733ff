# The libFuzzer targets (fuzz/fuzz_*.c) and their corpora (fuzz/corpus/<target>/).
#   make fuzz                  each target for FUZZ_SECONDS (default 180) with clang's libFuzzer,
#                              ASan and UBSan (the FUZZ=1 build in build-fuzz/); new inputs go to
#                              build-fuzz/corpus/<target>/, crashes to build-fuzz/crash/
#   make fuzz FUZZ_SECONDS=15  the smoke run of .ci/run
# make test replays the committed corpora through the same targets built with gcc
# (tests/test_fuzz_replay.c).
FUZZ_TARGETS := idx png checkpoint runfolder
FUZZ_SECONDS ?= 180
FUZZ_OBJ := $(FUZZ_TARGETS:%=$(BUILD)/fuzz/fuzz_%.o)

$(BUILD)/tests/test_fuzz_replay: $(BUILD)/tests/test_fuzz_replay.o $(FUZZ_OBJ) $(TEST_UTIL) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -lcmocka -o $@

$(BUILD)/fuzz/bin/%: fuzz/fuzz_%.c fuzz/fuzz.h $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -DSCNN_FUZZ_LIBFUZZER -fsanitize=fuzzer $< $(LIB) $(LDLIBS) -o $@

.PHONY: fuzz-bins
fuzz-bins: $(FUZZ_TARGETS:%=$(BUILD)/fuzz/bin/%)

# -max_len 65536: the seeds are at most 64 KiB and so are the inputs. -malloc_limit_mb keeps a
# reader that allocates by a header's word from passing for a slow one (one allocation over
# 512 MB is a finding). The RSS limit is loose: at 50,000+ inputs/s ASan's allocator holds about
# 2 GB of freed memory, which a 2 GB limit took for a leak.
fuzz: deps
	@$(MAKE) --no-print-directory FUZZ=1 -j$$(nproc) fuzz-bins
	@set -e; for t in $(FUZZ_TARGETS); do \
	  mkdir -p build-fuzz/corpus/$$t build-fuzz/crash; \
	  echo "== fuzz $$t for $(FUZZ_SECONDS) s"; \
	  nice build-fuzz/fuzz/bin/$$t -max_len=65536 -max_total_time=$(FUZZ_SECONDS) \
	    -malloc_limit_mb=512 -rss_limit_mb=6144 -timeout=10 -print_final_stats=1 \
	    $$( [ -f fuzz/$$t.dict ] && echo -dict=fuzz/$$t.dict ) \
	    -artifact_prefix=build-fuzz/crash/$$t- build-fuzz/corpus/$$t fuzz/corpus/$$t \
	    2>build-fuzz/$$t.log || { tail -40 build-fuzz/$$t.log; exit 1; }; \
	  grep -E '^stat::number_of_executed_units|^stat::peak_rss_mb' build-fuzz/$$t.log | tr '\n' ' '; \
	  echo; \
	done
