# creatorapi — build, test, demo, sanitizers.
# `make` builds the C core for Lua 5.4 and LuaJIT plus the mock API server.
# The same sources are listed in the rockspec (luarocks make).

LUA        ?= lua5.4
LUAJIT     ?= luajit
BUSTED     ?= /usr/bin/busted
CC         ?= cc
PKG_CONFIG ?= pkg-config

LUA54_CFLAGS  := $(shell $(PKG_CONFIG) --cflags lua5.4 2>/dev/null || echo -I/usr/include/lua5.4)
LUAJIT_CFLAGS := $(shell $(PKG_CONFIG) --cflags luajit 2>/dev/null || echo -I/usr/include/luajit-2.1)
LUA54_LIBS    := $(shell $(PKG_CONFIG) --libs lua5.4 2>/dev/null || echo -llua5.4)
DEP_CFLAGS    := $(shell $(PKG_CONFIG) --cflags libcurl 2>/dev/null) $(shell $(PKG_CONFIG) --cflags simdjson 2>/dev/null)
DEP_LIBS      := -lcurl -lyajl -lcrypto -lhttp_parser -lhiredis -lsqlite3 -lsimdjson -ldouble-conversion -lstdc++
CXX        ?= g++

OPT      ?= -O2 -g
WARN     := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Werror=implicit-function-declaration -Wno-unused-parameter
CFLAGS_CORE = $(OPT) $(WARN) -std=c99 -D_GNU_SOURCE -fPIC -fvisibility=hidden $(DEP_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS_CORE = -shared $(EXTRA_LDFLAGS)
# The JSON fast paths (src/*.cpp: simdjson, double-conversion) are C++ with
# a C interface; no exception or RTTI: nothing may unwind through Lua.
CXXFLAGS_CORE = $(OPT) -Wall -Wextra -Wno-unused-parameter -std=c++17 -fPIC -fvisibility=hidden \
  -fno-exceptions -fno-rtti -D_GNU_SOURCE $(DEP_CFLAGS) $(EXTRA_CFLAGS)

CORE_SRC := $(sort $(wildcard src/*.c))
CORE_HDR := $(wildcard src/*.h)
CORE_CXX := $(sort $(wildcard src/*.cpp))
MOCK_SRC := $(sort $(wildcard mock/*.c))
MOCK_HDR := $(wildcard mock/*.h)

BUILD    ?= build
CORE54   := $(BUILD)/5.4/creatorapi/core.so
COREJIT  := $(BUILD)/jit/creatorapi/core.so
MOCK_BIN := $(BUILD)/creatorapi-mock

# Paths so that the in-tree build is what `require "creatorapi"` finds.
export LUA_PATH_5_4 := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
export LUA_CPATH_5_4 := $(CURDIR)/$(BUILD)/5.4/?.so;;
export LUA_PATH := $(CURDIR)/lua/?.lua;$(CURDIR)/lua/?/init.lua;$(CURDIR)/spec/?.lua;;
export LUA_CPATH := $(CURDIR)/$(BUILD)/jit/?.so;;
export CREATORAPI_MOCK_BIN := $(CURDIR)/$(MOCK_BIN)

.PHONY: all core core54 corejit mock types test test-jit demo bench asan valgrind gcstress lint deps clean

all: core54 corejit mock

core: core54 corejit
core54: $(CORE54)
corejit: $(COREJIT)
mock: $(MOCK_BIN)

CXX54_OBJ  := $(CORE_CXX:src/%.cpp=$(BUILD)/5.4/obj/%.o)
CXXJIT_OBJ := $(CORE_CXX:src/%.cpp=$(BUILD)/jit/obj/%.o)

$(BUILD)/5.4/obj/%.o: src/%.cpp $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) $(LUA54_CFLAGS) -c -o $@ $<

$(BUILD)/jit/obj/%.o: src/%.cpp $(CORE_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CXX) $(CXXFLAGS_CORE) $(LUAJIT_CFLAGS) -c -o $@ $<

$(CORE54): $(CORE_SRC) $(CORE_HDR) $(CXX54_OBJ) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) $(LUA54_CFLAGS) -o $@ $(CORE_SRC) $(CXX54_OBJ) $(LDFLAGS_CORE) $(DEP_LIBS)

$(COREJIT): $(CORE_SRC) $(CORE_HDR) $(CXXJIT_OBJ) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_CORE) $(LUAJIT_CFLAGS) -o $@ $(CORE_SRC) $(CXXJIT_OBJ) $(LDFLAGS_CORE) $(DEP_LIBS)

$(MOCK_BIN): $(MOCK_SRC) $(MOCK_HDR) Makefile
	@mkdir -p $(dir $@)
	$(CC) $(OPT) $(WARN) -std=c99 -D_GNU_SOURCE $(LUA54_CFLAGS) $(DEP_CFLAGS) \
	  -DMOCK_LUA_DIR='"$(CURDIR)/mock/lua"' $(EXTRA_CFLAGS) -o $@ $(MOCK_SRC) \
	  $(EXTRA_LDFLAGS) -lmicrohttpd $(LUA54_LIBS) -lcurl -lcrypto -lxlsxwriter -lpthread -lm -ldl

# The rock (build.type "make" in creatorapi-*.rockspec): luarocks runs
# `make rock` with CC, CFLAGS, LIBFLAG, LUA_INCDIR (the Lua the rock is for),
# ROCK_PREFIX (the rock's own directory in the tree), DEP_INCDIRS/DEP_LIBDIRS
# (its external_dependencies), then build.install copies build/rock/*. The core
# is rebuilt every time (one tree may hold 5.1 and 5.4 builds); the mock always
# embeds Lua 5.4 and reads its handlers from $(ROCK_PREFIX)/mock/lua (the
# rockspec's copy_directories). Without the mock's libraries (mock/rock/probe.c
# does not link) the rock gets mock/rock/missing.sh instead, and a warning.
ROCK_OUT    := $(BUILD)/rock
LUA_INCDIR  ?= /usr/include/lua5.4
LIBFLAG     ?= -shared
CFLAGS      ?= -O2
ROCK_PREFIX ?= $(CURDIR)
ROCK_DEFS   := -fPIC -D_GNU_SOURCE -DSIMDJSON_THREADS_ENABLED=1 -fvisibility=hidden -Isrc -I$(LUA_INCDIR) $(DEP_INCDIRS) $(DEP_CFLAGS)
MOCK_LIBS   := -lmicrohttpd $(LUA54_LIBS) -lcurl -lcrypto -lxlsxwriter -lpthread -lm -ldl
MOCK_NEEDS  := libmicrohttpd-dev liblua5.4-dev libcurl4-openssl-dev libssl-dev libxlsxwriter-dev

.PHONY: rock rock-core rock-mock
rock: rock-core rock-mock

rock-core:
	rm -rf $(ROCK_OUT)/creatorapi $(ROCK_OUT)/obj && mkdir -p $(ROCK_OUT)/creatorapi $(ROCK_OUT)/obj
	for f in $(CORE_CXX); do \
	  $(CXX) $(CFLAGS) -std=c++17 -fno-exceptions -fno-rtti $(ROCK_DEFS) -c -o $(ROCK_OUT)/obj/$$(basename $$f .cpp).o $$f || exit 1; \
	done
	$(CC) $(CFLAGS) -std=c99 $(ROCK_DEFS) -o $(ROCK_OUT)/creatorapi/core.so $(CORE_SRC) $(ROCK_OUT)/obj/*.o \
	  $(LIBFLAG) $(DEP_LIBDIRS) $(DEP_LIBS)

rock-mock:
	@mkdir -p $(ROCK_OUT) && rm -f $(ROCK_OUT)/creatorapi-mock
	@if $(CC) $(LUA54_CFLAGS) $(DEP_CFLAGS) -o $(ROCK_OUT)/probe mock/rock/probe.c $(MOCK_LIBS) 2>$(ROCK_OUT)/probe.log; then \
	  echo "$(CC) ... -o $(ROCK_OUT)/creatorapi-mock (handlers: $(ROCK_PREFIX)/mock/lua)"; \
	  $(CC) $(CFLAGS) -std=c99 -D_GNU_SOURCE $(LUA54_CFLAGS) $(DEP_CFLAGS) -DMOCK_LUA_DIR='"$(ROCK_PREFIX)/mock/lua"' \
	    -o $(ROCK_OUT)/creatorapi-mock $(MOCK_SRC) $(MOCK_LIBS) || exit 1; \
	else \
	  sed 's|@NEEDS@|$(MOCK_NEEDS)|g' mock/rock/missing.sh > $(ROCK_OUT)/creatorapi-mock || exit 1; \
	  chmod 755 $(ROCK_OUT)/creatorapi-mock; \
	  echo "creatorapi: WARNING: installing without the mock API (creatorapi-mock): it needs $(MOCK_NEEDS)" >&2; \
	  sed 's/^/  /' $(ROCK_OUT)/probe.log | head -n 3 >&2; \
	fi
	@rm -f $(ROCK_OUT)/probe

# Debian packages the build, tests and demo need; installed when run as root.
deps:
	@sh .ci/deps.sh

# Specs run again with every client call inside a task
# (spec/support/in_tasks.lua): on the scripts' async loop and on the luv host,
# under Lua 5.4 and LuaJIT.
TASK_SPECS := spec/core_retry_spec.lua spec/core_client_spec.lua spec/core_download_spec.lua \
  spec/fault_matrix_spec.lua spec/workflow_spec.lua spec/creativault_spec.lua spec/keyapi_spec.lua \
  spec/paging_spec.lua spec/budget_spec.lua spec/daily_quota_spec.lua

# The six runs go two at a time (TEST_JOBS=1: one after another); each run's
# output is printed whole, in this order (tools/run_lanes.sh).
TEST_JOBS ?= 2
test: deps all
	@sh tools/run_lanes.sh $(TEST_JOBS) \
	  'Lua 5.4 suite|$(LUA) $(BUSTED) spec' \
	  'LuaJIT suite|$(LUAJIT) $(BUSTED) --tags=jit spec' \
	  'in tasks, curl, Lua 5.4|CREATORAPI_IN_TASKS=curl $(LUA) $(BUSTED) --helper=spec/support/in_tasks.lua $(TASK_SPECS)' \
	  'in tasks, luv, Lua 5.4|CREATORAPI_IN_TASKS=luv $(LUA) $(BUSTED) --helper=spec/support/in_tasks.lua $(TASK_SPECS)' \
	  'in tasks, curl, LuaJIT|CREATORAPI_IN_TASKS=curl $(LUAJIT) $(BUSTED) --helper=spec/support/in_tasks.lua $(TASK_SPECS)' \
	  'in tasks, luv, LuaJIT|CREATORAPI_IN_TASKS=luv $(LUAJIT) $(BUSTED) --helper=spec/support/in_tasks.lua $(TASK_SPECS)'

# The demo: quickstart (search + a KeyAPI page), then the collection workflow
# (submit → wait with progress → rows → XLSX export → download) with the
# mock's clock running 60x so the task takes seconds.
demo: deps all
	@sh examples/run-with-mock.sh $(LUA) examples/quickstart.lua
	@echo
	@CREATORAPI_MOCK_ARGS="--time-scale 60" CREATORAPI_POLL_INTERVAL=0.5 \
	  sh examples/run-with-mock.sh $(LUA) examples/collect_export_download.lua $(BUILD)

bench: deps all $(BUILD)/bench/curl_baseline
	@BENCH_CURL_BASELINE=$(BUILD)/bench/curl_baseline sh examples/run-with-mock.sh $(LUA) bench/run.lua

$(BUILD)/bench/curl_baseline: bench/curl_baseline.c
	@mkdir -p $(dir $@)
	$(CC) -O2 $(WARN) -std=c99 -D_GNU_SOURCE $(DEP_CFLAGS) -o $@ $< -lcurl -lyajl

# ASan + UBSan: a separate build of core + mock, the Lua 5.4 suite against it.
ASAN_FLAGS := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
asan: deps
	$(MAKE) BUILD=build-asan OPT="$(ASAN_FLAGS)" EXTRA_LDFLAGS="-fsanitize=address,undefined" core54 mock
	$(CC) $(ASAN_FLAGS) $(LUA54_CFLAGS) -o build-asan/asan-lua .ci/asan-lua.c $(LUA54_LIBS) -lm
	ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	CREATORAPI_SANITIZER=asan CREATORAPI_LUA="$(CURDIR)/build-asan/asan-lua" \
	LUA_CPATH_5_4="$(CURDIR)/build-asan/5.4/?.so;;" CREATORAPI_MOCK_BIN="$(CURDIR)/build-asan/creatorapi-mock" \
	  build-asan/asan-lua $(BUSTED) spec

# The Lua 5.4 suite with an aggressive collector (docs/testing.md "GC stress").
gcstress: deps all
	$(LUA) $(BUSTED) --helper=spec/support/gc_stress.lua spec

# valgrind is ~30x slower: the #slow specs (fault matrix, soak) run under ASan instead.
valgrind: deps all
	CREATORAPI_VALGRIND=1 valgrind --quiet --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	  $(LUA) $(BUSTED) --exclude-tags=slow spec

# LuaLS annotations (library/creatorapi.lua) from the endpoint tables.
types: core54
	lua5.4 tools/gen_types.lua library/creatorapi.lua

lint:
	luacheck lua spec examples bench mock/lua bin/creatorapi tools library
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
	  -I src $(LUA54_CFLAGS) --suppress=missingIncludeSystem src mock

clean:
	rm -rf build build-asan build-fuzz

# Fuzzing targets (libFuzzer): fuzz/fuzz.mk defines `make fuzz`.
-include fuzz/fuzz.mk
