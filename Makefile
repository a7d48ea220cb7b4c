# Makefile: builds libshared (static and shared), the programs' internal libraries, producer, consumer, tests, benchmarks, examples.
#
#   make              build everything (installs missing packages when root)
#   make demo         the main job: a batch compressed through the ring, verified
#   make test         run the whole test suite
#   make chaos        the long chaos test: 300 SIGKILLs to a running pipeline
#                     (through a ring, then through a batch on a redis-server)
#   make asan | tsan  the test suite under AddressSanitizer+UBSan / ThreadSanitizer
#   make valgrind     the Check suites under valgrind memcheck
#   make bench        benchmarks (not tests)
#   make fuzz         libFuzzer on the fuzz targets, FUZZ_SECONDS each
#   make install PREFIX=/usr/local DESTDIR=
#
# SANITIZE=address,undefined or SANITIZE=thread builds into build/<name>/.

CC      ?= cc
CFLAGS  ?= -O2 -g
PREFIX  ?= /usr/local
LIBDIR  ?= $(PREFIX)/lib
INCDIR  ?= $(PREFIX)/include
BINDIR  ?= $(PREFIX)/bin
DESTDIR ?=

override CFLAGS += -std=c11 -D_GNU_SOURCE -fPIC -pthread \
	-Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wno-format-nonliteral \
	-Ilibshared/include -MMD -MP
override LDLIBS += -pthread -lrt

ifneq ($(SANITIZE),)
  ifeq ($(findstring thread,$(SANITIZE)),thread)
    B ?= build/tsan
    # TSan does not model fences (gcc warns at each); the fences here order
    # memory shared with other processes, which TSan cannot see anyway.
    override CFLAGS += -Wno-tsan
  else
    B ?= build/asan
  endif
  override CFLAGS += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
  override LDFLAGS += -fsanitize=$(SANITIZE)
else
  B ?= build
endif

ifeq ($(V),1)
  Q :=
  say = @true
else
  Q := @
  say = @printf '  %-6s %s\n' '$(1)' '$(2)'
endif

# System packages this project needs, as Debian names them.  The Python ones run the
# package's tests and its judges (CPython's multiprocessing tests, fasteners' tests).
# (redis-server is needed by the broker's tests only, which skip without it;
# .ci/run installs it without letting the package start a service.)
PY_VER  := $(shell /usr/bin/python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])' 2>/dev/null || echo 3.11)
DEB_PKGS := build-essential pkg-config liblz4-dev lz4 check util-linux procps libhiredis-dev \
	python3 python3-pytest python3-pip python3-fasteners libpython$(PY_VER)-testsuite
DEPS_OK := $(shell pkg-config --exists check liblz4 hiredis 2>/dev/null && command -v lz4 >/dev/null && \
	     command -v pgrep >/dev/null && \
	     /usr/bin/python3 -c 'import pytest, fasteners' 2>/dev/null && \
	     test -f /usr/lib/python$(PY_VER)/test/_test_multiprocessing.py && echo yes)

LZ4_CFLAGS   = $(shell pkg-config --cflags liblz4 2>/dev/null)
LZ4_LIBS     = $(shell pkg-config --libs liblz4 2>/dev/null || echo -llz4)
CHECK_CFLAGS = $(shell pkg-config --cflags check 2>/dev/null)
CHECK_LIBS   = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lm)
HIREDIS_CFLAGS = $(shell pkg-config --cflags hiredis 2>/dev/null)
HIREDIS_LIBS   = $(shell pkg-config --libs hiredis 2>/dev/null || echo -lhiredis)

LIB_SRC   := $(sort $(wildcard libshared/src/*.c))
LIB_OBJ   := $(LIB_SRC:%.c=$(B)/%.o)
LIB_A     := $(B)/libshared.a
SO_NAME   := libshared.so.0
LIB_SO    := $(B)/$(SO_NAME)

# The programs' client of a batch on Redis Streams (--broker), over hiredis:
# theirs and the tests', not part of libshared.
BK_SRC    := $(sort $(wildcard libshared/broker/*.c))
BK_OBJ    := $(BK_SRC:%.c=$(B)/%.o)
BK_A      := $(B)/libbroker.a

# Two more internal static libraries, never installed: the programs' helpers
# (libshared/prog: messages, parsing, clock, signals, shared options) and
# the pipeline's record format (libshared/batch: records, path rules,
# XXH64).  Everything but libshared itself is compiled with their include
# paths and the broker's; the library is not, so it cannot come to depend
# on them.
PROG_SRC  := $(sort $(wildcard libshared/prog/*.c))
PROG_A    := $(B)/libprog.a
BATCH_SRC := $(sort $(wildcard libshared/batch/*.c))
BATCH_A   := $(B)/libbatch.a
APP_INC    = -Ilibshared/prog -Ilibshared/batch -Ilibshared/broker
$(LIB_OBJ): APP_INC :=

PROG_NAMES := producer consumer
PROGS     := $(foreach p,$(PROG_NAMES),$(if $(wildcard $(p)/*.c),$(B)/$(p)))

TEST_SRC  := $(sort $(wildcard tests/check_*.c))
TESTS     := $(TEST_SRC:tests/%.c=$(B)/tests/%)
TOOL_SRC  := $(sort $(wildcard tests/tool_*.c))
TOOLS     := $(TOOL_SRC:tests/%.c=$(B)/tests/%)
# The tests' one helper library (tests/testutil.h), linked by every check_*
# and tool_* program before libprog.a, whose clock and I/O it uses.
TUTIL_SRC := $(sort $(wildcard tests/util/*.c))
TUTIL_A   := $(B)/tests/libtestutil.a
SHTESTS   := $(sort $(wildcard tests/test_*.sh))
FUZZ_SRC  := $(sort $(wildcard tests/fuzz/fuzz_*.c))
FUZZ_SRC  := $(filter-out tests/fuzz/fuzz_main.c,$(FUZZ_SRC))
FUZZERS   := $(FUZZ_SRC:tests/fuzz/%.c=$(B)/tests/%)

BENCH_SRC := $(sort $(wildcard bench/*.c))
BENCHES   := $(BENCH_SRC:bench/%.c=$(B)/bench/%)
EX_SRC    := $(sort $(wildcard examples/*.c))
EXAMPLES  := $(EX_SRC:examples/%.c=$(B)/examples/%)

.PHONY: all build deps lib internal programs tests test check run-tests asan tsan valgrind \
	bench demo install uninstall clean fuzz chaos
.DEFAULT_GOAL := all

# Public targets check the dependencies first, then build in a fresh make so
# that pkg-config sees packages installed a moment ago.
all: deps
	@$(MAKE) --no-print-directory build
build: lib programs tests $(BENCHES) $(EXAMPLES)

# Installs the missing packages when run as root; otherwise names them.
deps:
ifneq ($(DEPS_OK),yes)
	@if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
		echo "make: installing missing packages: $(DEB_PKGS)"; \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS) || \
		{ apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(DEB_PKGS); }; \
	else \
		echo "make: missing build dependencies; install them with:" >&2; \
		echo "  sudo apt-get install $(DEB_PKGS)" >&2; exit 1; \
	fi
endif

lib: $(LIB_A) $(LIB_SO)
internal: $(PROG_A) $(BATCH_A) $(BK_A)
programs: $(PROGS)
tests: $(TESTS) $(TOOLS) $(FUZZERS)

$(B)/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(APP_INC) $(CPPFLAGS) $(LZ4_CFLAGS) $(CHECK_CFLAGS) $(HIREDIS_CFLAGS) -c -o $@ $<

# The same library with the test-only crash points compiled in (crashpoint.h),
# linked only by tests/tool_crash, tests/tool_mpcrash and the fuzz targets.
CP_OBJ := $(LIB_SRC:%.c=$(B)/cp/%.o)
CP_A   := $(B)/cp/libshared.a

$(B)/cp/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$< [crash points])
	$(Q)$(CC) $(CFLAGS) $(CPPFLAGS) -DSP_CRASH_POINTS $(LZ4_CFLAGS) -c -o $@ $<

$(CP_A): $(CP_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(B)/tests/tool_crash $(B)/tests/tool_mpcrash: $(B)/tests/%: $(B)/tests/%.o $(TUTIL_A) $(BATCH_A) $(PROG_A) $(CP_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LZ4_LIBS) $(LDLIBS)

$(LIB_A): $(LIB_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BK_A): $(BK_OBJ)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(PROG_A): $(PROG_SRC:%.c=$(B)/%.o)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(BATCH_A): $(BATCH_SRC:%.c=$(B)/%.o)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(TUTIL_SRC:%.c=$(B)/%.o): APP_INC += -Itests
$(TUTIL_A): $(TUTIL_SRC:%.c=$(B)/%.o)
	$(call say,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

# The shared library exports only what libshared.map lists: the public API
# (tests/test_abi.sh checks it against the headers).  A version script rather
# than -fvisibility=hidden, as liburing does: the ABI is one reviewable list,
# the headers carry no export macro, and the node leaves room to version
# symbols later.
SO_MAP    := libshared/libshared.map

$(LIB_SO): $(LIB_OBJ) $(SO_MAP)
	$(call say,LD,$@)
	$(Q)$(CC) -shared -Wl,-soname,$(SO_NAME) -Wl,--version-script=$(SO_MAP) $(LDFLAGS) \
		-o $@ $(LIB_OBJ) $(LZ4_LIBS) $(LDLIBS)
	$(Q)ln -sf $(SO_NAME) $(B)/libshared.so

# The pkg-config file is written at install time, for the PREFIX given then.
SP_VERSION = $(shell sed -n 's/^\#define SP_VERSION_STRING "\(.*\)"/\1/p' libshared/include/shared/version.h)
PC_SED = -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' -e 's|@INCDIR@|$(INCDIR)|' \
	-e 's|@VERSION@|$(SP_VERSION)|'

# Each program is every .c file in its folder, over the static library.
.SECONDEXPANSION:
# Their objects go to $(B)/obj/, since $(B)/producer is the program itself.
# (No "%" in the prerequisites: a static pattern rule would replace it with
# the stem before the secondary expansion; $$* is the stem here.)
$(B)/obj/%.o: %.c
	@mkdir -p $(@D)
	$(call say,CC,$<)
	$(Q)$(CC) $(CFLAGS) $(APP_INC) $(CPPFLAGS) $(LZ4_CFLAGS) -c -o $@ $<

$(PROGS): $(B)/%: $$(addprefix $(B)/obj/,$$(addsuffix .o,$$(basename $$(wildcard $$*/*.c)))) \
		$(BK_A) $(BATCH_A) $(PROG_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HIREDIS_LIBS) $(LZ4_LIBS) $(LDLIBS)

$(B)/tests/check_%: $(B)/tests/check_%.o $(TUTIL_A) $(BK_A) $(BATCH_A) $(PROG_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(HIREDIS_LIBS) $(LZ4_LIBS) $(LDLIBS)

$(B)/tests/tool_%: $(B)/tests/tool_%.o $(TUTIL_A) $(BK_A) $(BATCH_A) $(PROG_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(HIREDIS_LIBS) $(LZ4_LIBS) $(LDLIBS)

# Fuzz targets, built with a plain main that replays a corpus (make test);
# `make fuzz` builds them with clang's libFuzzer instead.
$(B)/tests/fuzz_%: $(B)/tests/fuzz/fuzz_%.o $(B)/tests/fuzz/fuzz_main.o $(BATCH_A) $(CP_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LZ4_LIBS) $(LDLIBS)

FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
# The library with its crash points, whose hook the targets use to write
# the segment between the library's steps (crashpoint.h).
FUZZ_FLAGS = -g -O1 -std=c11 -D_GNU_SOURCE -DSP_CRASH_POINTS -Ilibshared/include -Ilibshared/batch \
	-fsanitize=fuzzer,address,undefined

fuzz: deps
	@command -v $(FUZZ_CC) >/dev/null || { echo "make: fuzz needs clang (apt-get install clang)" >&2; exit 1; }
	@mkdir -p build/fuzz
	@set -e; for f in $(FUZZ_SRC); do n=$$(basename $$f .c); \
		echo "  FUZZ   $$n for $(FUZZ_SECONDS) s"; \
		$(FUZZ_CC) $(FUZZ_FLAGS) -o build/fuzz/$$n $$f $(LIB_SRC) $(BATCH_SRC) $(LZ4_LIBS) -pthread -lrt; \
		mkdir -p build/fuzz/corpus-$$n; \
		build/fuzz/$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-artifact_prefix=build/fuzz/ build/fuzz/corpus-$$n tests/fuzz/corpus/$${n#fuzz_} \
			> build/fuzz/$$n.log 2>&1 || { tail -n 40 build/fuzz/$$n.log; exit 1; }; \
		tail -n 1 build/fuzz/$$n.log; \
	done

$(B)/bench/%: $(B)/bench/%.o $(PROG_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LZ4_LIBS) $(LDLIBS) -lm

$(B)/examples/%: $(B)/examples/%.o $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LZ4_LIBS) $(LDLIBS) -lm

# The suite: every Check binary, then every shell test that drives the real
# executables.  Each prints its own summary; the run fails if any fails.
test check: deps
	@$(MAKE) --no-print-directory run-tests
run-tests: lib programs tests $(EXAMPLES)
	@B=$(B) tests/run.sh $(TESTS) $(SHTESTS)

# The long version of tests/test_chaos.sh (make test runs 30 kills in at
# most 45 s), through a ring, then in its broker mode (CHAOS_BROKER=1:
# through a batch on a redis-server of its own; it skips without one).
# Both run; either failing fails the target.  CHAOS_KILLS, CHAOS_SECONDS,
# CHAOS_SEED, CHAOS_TREE, CHAOS_DIR may be given.
CHAOS_KILLS ?= 300
CHAOS_SECONDS ?= 3600
chaos: deps
	@$(MAKE) --no-print-directory programs $(B)/tests/tool_redis
	@B=$(B) CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_SECONDS=$(CHAOS_SECONDS) tests/run.sh tests/test_chaos.sh; \
	 r=$$?; \
	 B=$(B) CHAOS_BROKER=1 CHAOS_KILLS=$(CHAOS_KILLS) CHAOS_SECONDS=$(CHAOS_SECONDS) \
		tests/run.sh tests/test_chaos.sh && exit $$r

asan:
	@$(MAKE) --no-print-directory SANITIZE=address,undefined test
tsan:
	@$(MAKE) --no-print-directory SANITIZE=thread test

valgrind: deps
	@$(MAKE) --no-print-directory tests
	@B=$(B) SP_VALGRIND=1 tests/run.sh $(TESTS)

bench: all
	@B=$(B) bench/run.sh

demo: all
	@B=$(B) examples/demo.sh

install: lib programs
	install -d $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCDIR)/shared $(DESTDIR)$(BINDIR)
	install -m 644 $(LIB_A) $(DESTDIR)$(LIBDIR)/
	install -m 755 $(LIB_SO) $(DESTDIR)$(LIBDIR)/
	ln -sf $(SO_NAME) $(DESTDIR)$(LIBDIR)/libshared.so
	install -m 644 libshared/include/shared/*.h $(DESTDIR)$(INCDIR)/shared/
	sed $(PC_SED) libshared/libshared.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libshared.pc
	$(if $(PROGS),install -m 755 $(PROGS) $(DESTDIR)$(BINDIR)/)
	@# The loader's cache, so that programs (and the Python package) find the new
	@# library without LD_LIBRARY_PATH: only for a real install, as root.
	@[ -n "$(DESTDIR)" ] || [ "$$(id -u)" != 0 ] || ! command -v ldconfig >/dev/null || ldconfig

uninstall:
	rm -f $(DESTDIR)$(LIBDIR)/libshared.a $(DESTDIR)$(LIBDIR)/$(SO_NAME) \
		$(DESTDIR)$(LIBDIR)/libshared.so $(DESTDIR)$(LIBDIR)/pkgconfig/libshared.pc
	rm -rf $(DESTDIR)$(INCDIR)/shared
	rm -f $(addprefix $(DESTDIR)$(BINDIR)/,$(PROG_NAMES))

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
.SECONDARY:
