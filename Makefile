# Ward -- one non-recursive Makefile.  Everything it builds goes under $(BUILD).
#
#   make                 ward-sensor, ward-console, wardctl and the tools
#   make test            unit, integration, regression and fuzz-replay tests
#   make check-asan      the same tests in an ASan+UBSan build (build/asan)
#   make check-valgrind  every unit test under valgrind memcheck
#   make demo            keys, console, sensor on the bundled capture, events
#   make bench           sensor throughput against the bare libpcap loop
#   make regress-update  rewrite tests/regress/*.events after an intended change
#   make fuzz            libFuzzer targets (clang) in build/fuzz
#   make analyze         cppcheck over common/ sensor/ console/ (fails on any finding)
#   make install PREFIX=/usr/local DESTDIR=
#   make clean
#
# V=1 shows the commands.  BUILD=dir builds elsewhere (parallel trees are fine).

BUILD    ?= build
PREFIX   ?= /usr/local
DESTDIR  ?=
SANITIZE ?=
FUZZ     ?=

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Libraries, all through pkg-config (libcsv ships no .pc file).
PKGS := libpcap libzmq libprotobuf-c libsodium sqlite3 inih jansson libnftables libpsl
TEST_PKGS := cmocka

DEPS_OK := $(shell pkg-config --exists $(PKGS) $(TEST_PKGS) 2>/dev/null && \
		   test -f /usr/include/csv.h && command -v protoc-c >/dev/null && echo yes)
ifneq ($(DEPS_OK),yes)
ifeq ($(filter deps clean help,$(MAKECMDGOALS)),)
$(info Some build dependencies are missing: running deploy/install-deps.sh)
DEPS_RUN := $(shell deploy/install-deps.sh >&2 || echo failed)
ifeq ($(DEPS_RUN),failed)
$(error deploy/install-deps.sh failed; run it as root and try again)
endif
endif
endif

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lcsv -lm
TEST_CFLAGS := $(shell pkg-config --cflags $(TEST_PKGS) 2>/dev/null)
TEST_LIBS   := $(shell pkg-config --libs $(TEST_PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wold-style-definition -Wpointer-arith -Wcast-qual -Wwrite-strings -Wundef -Wvla \
	-Wformat=2 -Wimplicit-fallthrough -Wnull-dereference

# The user's CPPFLAGS/CFLAGS/LDFLAGS are appended, never replace Ward's own flags;
# OPT sets optimisation and debug info.
OPT ?= -O2 -g
FORTIFY := -D_FORTIFY_SOURCE=2
W_CPPFLAGS = -D_DEFAULT_SOURCE $(FORTIFY) -Icommon -Isensor -Iconsole -Itests/lib \
	-isystem $(BUILD)/gen
W_CFLAGS := $(OPT) -std=c11 $(WARN) -fstack-protector-strong -fPIE -MMD -MP $(PKG_CFLAGS)
W_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,--as-needed

ifneq ($(SANITIZE),)
W_CFLAGS  += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
W_LDFLAGS += -fsanitize=$(SANITIZE)
# ASan and _FORTIFY_SOURCE disagree; the sanitizer checks more anyway.
FORTIFY :=
endif
ifeq ($(FUZZ),1)
W_CFLAGS += -fsanitize=fuzzer-no-link -DWARD_FUZZING
endif

ALL_CPPFLAGS = $(W_CPPFLAGS) $(CPPFLAGS)
ALL_CFLAGS = $(W_CFLAGS) $(CFLAGS)
ALL_LDFLAGS = $(W_LDFLAGS) $(LDFLAGS)

# ---------------------------------------------------------------- sources

PROTO_C  := $(BUILD)/gen/ward.pb-c.c
PROTO_H  := $(BUILD)/gen/ward.pb-c.h

COMMON_SRC  := $(wildcard common/*.c)
SENSOR_SRC  := $(filter-out sensor/main.c,$(wildcard sensor/*.c))
CONSOLE_SRC := $(filter-out console/main.c console/wardctl.c,$(wildcard console/*.c))
TESTLIB_SRC := $(wildcard tests/lib/*.c)
UNIT_SRC    := $(wildcard tests/unit/test_*.c)
TOOL_SRC    := $(wildcard tools/*.c)
FUZZ_SRC    := $(wildcard tests/fuzz/fuzz_*.c)

obj = $(patsubst %.c,$(BUILD)/obj/%.o,$(1))

LIBCOMMON  := $(BUILD)/libcommon.a
LIBSENSOR  := $(BUILD)/libsensor.a
LIBCONSOLE := $(BUILD)/libconsole.a
LIBTEST    := $(BUILD)/libtest.a
WARD_LIBS  := $(LIBSENSOR) $(LIBCONSOLE) $(LIBCOMMON)

BINS  := $(BUILD)/ward-sensor $(BUILD)/ward-console $(BUILD)/wardctl
TOOLS := $(patsubst tools/%.c,$(BUILD)/tools/%,$(TOOL_SRC))
UNITS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRC))
FUZZERS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRC))
REPLAY := $(BUILD)/tests/fuzz_replay

ALL_OBJ := $(call obj,$(COMMON_SRC) $(SENSOR_SRC) $(CONSOLE_SRC) $(TESTLIB_SRC) $(UNIT_SRC) \
	$(TOOL_SRC) sensor/main.c console/main.c console/wardctl.c tests/fuzz/replay.c $(FUZZ_SRC)) \
	$(BUILD)/obj/gen/ward.pb-c.o

.PHONY: all deps test check check-asan check-valgrind demo bench bench-console fuzz fuzz-smoke detect-eval assets-eval \
	regress-update install clean help format format-check analyze
.DEFAULT_GOAL := all

all: $(BINS) $(TOOLS)

help:
	@sed -n '2,14p' Makefile | sed 's/^# \{0,1\}//'

deps:
	deploy/install-deps.sh

# ---------------------------------------------------------------- generation

$(PROTO_C) $(PROTO_H): proto/ward.proto
	@mkdir -p $(BUILD)/gen
	@echo "  PROTOC  $<"
	$(Q)protoc-c --proto_path=proto --c_out=$(BUILD)/gen $<

# protoc-c's output casts away const in its init macros; that file alone is excused.
$(BUILD)/obj/gen/ward.pb-c.o: $(PROTO_C)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -Wno-cast-qual -c -o $@ $<

# The generated header is a real prerequisite: it is included through -isystem,
# which -MMD leaves out of the dependency files, so a changed ward.proto would
# otherwise leave objects built against the old message layouts.
$(BUILD)/obj/%.o: %.c $(PROTO_H)
	@mkdir -p $(dir $@)
	@echo "  CC      $<"
	$(Q)$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(call obj,$(TESTLIB_SRC) $(UNIT_SRC)): W_CFLAGS += $(TEST_CFLAGS)

# ---------------------------------------------------------------- archives and programs

$(LIBCOMMON): $(call obj,$(COMMON_SRC)) $(BUILD)/obj/gen/ward.pb-c.o
$(LIBSENSOR): $(call obj,$(SENSOR_SRC))
$(LIBCONSOLE): $(call obj,$(CONSOLE_SRC))
$(LIBTEST): $(call obj,$(TESTLIB_SRC))

$(BUILD)/%.a:
	@echo "  AR      $@"
	$(Q)rm -f $@ && ar rcs $@ $^

LINK = $(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(filter %.a,$^) \
	-Wl,--end-group $(PKG_LIBS)

$(BUILD)/ward-sensor: $(BUILD)/obj/sensor/main.o $(WARD_LIBS)
	@echo "  LD      $@"
	$(LINK)
$(BUILD)/ward-console: $(BUILD)/obj/console/main.o $(WARD_LIBS)
	@echo "  LD      $@"
	$(LINK)
$(BUILD)/wardctl: $(BUILD)/obj/console/wardctl.o $(WARD_LIBS)
	@echo "  LD      $@"
	$(LINK)
$(BUILD)/tools/%: $(BUILD)/obj/tools/%.o $(LIBTEST) $(WARD_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(LINK)
$(BUILD)/tests/%: $(BUILD)/obj/tests/unit/%.o $(LIBTEST) $(WARD_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(LINK) $(TEST_LIBS)

# The replay driver feeds every fuzz corpus file through the fuzz entry points in an
# ordinary (gcc, sanitizer) build, so check-asan covers the corpora without clang.
$(REPLAY): $(BUILD)/obj/tests/fuzz/replay.o $(call obj,$(FUZZ_SRC)) $(LIBTEST) $(WARD_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(LINK)
$(call obj,$(FUZZ_SRC)): W_CPPFLAGS += -DFUZZ_NAME=$(basename $(notdir $<))

$(BUILD)/fuzz/%: $(BUILD)/obj/tests/fuzz/%.o $(LIBTEST) $(WARD_LIBS)
	@mkdir -p $(dir $@)
	@echo "  LD      $@"
	$(LINK) -fsanitize=fuzzer

# ---------------------------------------------------------------- tests

test: all $(UNITS) $(REPLAY)
	$(Q)tests/run.sh $(BUILD)

check: test

check-valgrind: all $(UNITS)
	$(Q)tests/valgrind.sh $(BUILD)

check-asan:
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined OPT="-O1 -g" test

fuzz:
	$(MAKE) BUILD=build/fuzz CC=clang SANITIZE=address,undefined FUZZ=1 OPT="-O1 -g" \
		fuzz-bins

.PHONY: fuzz-bins
fuzz-bins: $(FUZZERS)

fuzz-smoke: fuzz
	$(Q)tests/fuzz/smoke.sh build/fuzz

# ---------------------------------------------------------------- demo, bench, evaluation

demo: all
	$(Q)deploy/demo.sh $(BUILD)

bench: all
	$(Q)tests/bench/bench_sensor.sh $(BUILD)

bench-console: all
	$(Q)tests/bench/bench_console.sh $(BUILD)

regress-update: all
	$(Q)tests/regress/update.sh $(BUILD)

detect-eval: all
	$(Q)tests/detect/eval.sh $(BUILD)

assets-eval: all
	$(Q)tests/assets/eval.sh $(BUILD)

# ---------------------------------------------------------------- install, clean, style

install: $(BINS)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/sbin \
		$(DESTDIR)$(PREFIX)/share/ward $(DESTDIR)/etc/ward
	install -m 0755 $(BUILD)/ward-sensor $(BUILD)/ward-console $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 $(BUILD)/wardctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 deploy/*.conf.example $(DESTDIR)$(PREFIX)/share/ward/
	install -m 0755 deploy/setup-keys.sh $(DESTDIR)$(PREFIX)/share/ward/
	install -d $(DESTDIR)$(PREFIX)/share/doc/ward
	install -m 0644 README.md docs/*.md $(DESTDIR)$(PREFIX)/share/doc/ward/
	install -d $(DESTDIR)/lib/systemd/system
	install -m 0644 deploy/*.service $(DESTDIR)/lib/systemd/system/

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run --Werror $$(git ls-files '*.c' '*.h')

analyze:
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--suppress=missingIncludeSystem --suppress=unknownMacro --inline-suppr -Icommon -Isensor -Iconsole common sensor console

clean:
	rm -rf build

-include $(ALL_OBJ:.o=.d)
