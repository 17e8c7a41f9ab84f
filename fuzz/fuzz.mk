# fuzz/fuzz.mk — libFuzzer targets (included by the top-level Makefile).
#
#   make fuzz                    build into build-fuzz/ and run every target
#                                for FUZZ_SECONDS (default 60) each
#   make fuzz-ci                 the same with FUZZ_SECONDS=20
#   make fuzz-build              only build
#   make fuzz FUZZ_TARGETS=json  one target
#
# Each target prints one line "fuzz <target>: <N> executions, <status>"
# (status "ok", or "CRASH (<artifact>)"); the recipe fails if any target
# crashed. The seed corpus in fuzz/corpus/<target>/ is read, never written:
# new inputs go to build-fuzz/corpus/<target>/, crash inputs to
# build-fuzz/artifacts/. See docs/testing.md.

FUZZ_CC      ?= $(shell command -v clang-14 2>/dev/null || echo clang)
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= json envelope query http_response
# Extra libFuzzer flags, e.g. FUZZ_ARGS="-jobs=4 -workers=4".
FUZZ_ARGS    ?=
# Extra -D flags for the targets, e.g. to skip the invariants of findings
# still open in src/ (fuzz/findings/README.md):
#   FUZZ_DEFS="-DFZ_SKIP_EXCERPT_UTF8 -DFZ_SKIP_TOSTRING_SECRET"
# (the targets are rebuilt when it changes; CI: FUZZ_DEFS=... bash .ci/fuzz.sh)
FUZZ_DEFS    ?=

FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=undefined
FUZZ_CFLAGS  := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -std=c99 -D_GNU_SOURCE \
                -Wall -Wextra -Wno-unused-parameter -Wno-unused-function \
                $(LUA54_CFLAGS) $(DEP_CFLAGS)
FUZZ_CXX     ?= $(shell command -v clang++-14 2>/dev/null || echo clang++)
FUZZ_CXXFLAGS := -g -O1 -fno-omit-frame-pointer $(FUZZ_SAN) -std=c++17 -D_GNU_SOURCE \
                -fno-exceptions -fno-rtti -Wall -Wextra -Wno-unused-parameter $(LUA54_CFLAGS) $(DEP_CFLAGS)
FUZZ_LIBS    := $(LUA54_LIBS) -lcurl -lyajl -lcrypto -lhttp_parser -lsimdjson -ldouble-conversion -lstdc++ -lm
# Only the pure parts of the core are linked (no client/transport): JSON,
# envelopes, errors, query strings, the HTTP answer parser.
FUZZ_CORE    := json_decode json_yajl json_text json_encode envelope error query http_response util
FUZZ_CORE_CXX := $(notdir $(basename $(wildcard src/json_*.cpp)))
FUZZ_OBJS    := $(FUZZ_CORE:%=$(FUZZ_BUILD)/obj/%.o) $(FUZZ_CORE_CXX:%=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BINS    := $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

.PHONY: fuzz fuzz-ci fuzz-build
.SECONDARY: $(FUZZ_OBJS)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_BUILD)/obj/%.o: src/%.cpp $(wildcard src/*.h) fuzz/fuzz.mk
	@mkdir -p $(dir $@)
	$(FUZZ_CXX) $(FUZZ_CXXFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

# Rebuild the targets when FUZZ_DEFS changes: the stamp's name hashes it.
FUZZ_STAMP   := $(FUZZ_BUILD)/defs-$(shell printf '%s' '$(FUZZ_DEFS)' | cksum | cut -d' ' -f1).stamp

$(FUZZ_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(FUZZ_BUILD)/defs-*.stamp
	@touch $@

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz_common.h $(FUZZ_OBJS) $(FUZZ_STAMP)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_DEFS) -fsanitize=fuzzer -o $@ $< $(FUZZ_OBJS) $(FUZZ_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_ARGS="$(FUZZ_ARGS)" \
	  sh fuzz/run.sh $(FUZZ_TARGETS)

fuzz-ci:
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=20
