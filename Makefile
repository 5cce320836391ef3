# mamori - plain Makefile. `make help` lists the targets.
#
#   make            build libmamori, mamori, mamorid, mamori-synth into build/
#   make check      install missing deps, build, run all tests, the browser
#                   tests, run them again under ASan+UBSan, replay the fuzz
#                   corpora
#   make e2e        the web UI's browser tests (headless chromium)
#   make run        install missing deps, build, make a demo vault, CLI tour,
#                   then mamorid on https://127.0.0.1:8443 until Ctrl-C
#   make bench      benchmarks against peers (1M records; minutes)
#   make fuzz       run each fuzz target for FUZZ_SECONDS
#   make install    install to $(DESTDIR)$(PREFIX)
#   make format     clang-format every C file
#   make deps       install the Debian packages the build and tests need

CC ?= gcc
BUILD ?= build
PREFIX ?= /usr/local
LOCALEDIR ?= $(PREFIX)/share/locale
FUZZ_SECONDS ?= 60

PKGS := libsodium libcrypto sqlite3 libutf8proc jansson liboath libqrencode \
        libzip
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN := -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wvla -Wpointer-arith \
        -Wstrict-prototypes -Wmissing-prototypes -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread $(WARN) $(CFLAGS) -Iinclude -Ilib \
              -DLOCALEDIR='"$(LOCALEDIR)"' -fstack-protector-strong \
              -D_FORTIFY_SOURCE=2 $(PKG_CFLAGS)
LDLIBS := $(PKG_LIBS) -lcsv -lcrack -pthread -lm

ifeq ($(SAN),1)
ALL_CFLAGS += -fsanitize=address,undefined -fno-sanitize-recover=all \
              -fno-omit-frame-pointer -U_FORTIFY_SOURCE -O1
LDLIBS += -fsanitize=address,undefined
endif

LIB_SRC := $(sort $(wildcard lib/*.c))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
# mamorid, the HTTPS JSON API server: its own packages, kept off the CLI.
SRV_PKGS := libmicrohttpd gnutls inih libsystemd
SRV_CFLAGS := $(shell pkg-config --cflags $(SRV_PKGS) 2>/dev/null)
SRV_LIBS := $(shell pkg-config --libs $(SRV_PKGS) 2>/dev/null)
SRV_SRC := $(sort $(wildcard server/*.c))
SRV_OBJ := $(SRV_SRC:%.c=$(BUILD)/%.o) $(BUILD)/server/openapi_yaml.o \
           $(BUILD)/server/web_files.o
# The web UI (web/), embedded in mamorid (server/static.c serves it).
WEB_FILES := $(sort $(shell find web -type f 2>/dev/null))
SRV_HDR := $(wildcard server/*.h include/*.h lib/*.h)
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/tests/%)
PO := $(wildcard po/*.po)
MO := $(PO:po/%.po=$(BUILD)/locale/%/LC_MESSAGES/mamori.mo)
FUZZ_SRC := $(sort $(wildcard fuzz/fuzz_*.c))
FUZZ_BUILD := build-fuzz
FUZZ_BIN := $(FUZZ_SRC:fuzz/%.c=$(FUZZ_BUILD)/%)

.PHONY: all check test unit unit-bin cli-test e2e run bench fuzz fuzz-replay install \
        format format-check deps deps-ok clean help
.DELETE_ON_ERROR:

all: $(BUILD)/libmamori.a $(BUILD)/mamori $(BUILD)/mamorid $(BUILD)/mamori-synth \
     $(MO)

help:
	@sed -n '2,15p' Makefile | sed 's/^# \{0,1\}//'

$(BUILD)/%.o: %.c $(wildcard include/*.h lib/*.h cli/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/libmamori.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/mamori: $(CLI_OBJ) $(BUILD)/libmamori.a
	$(CC) $(ALL_CFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libmamori.a $(LDLIBS)

$(BUILD)/server/%.o: server/%.c $(SRV_HDR)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SRV_CFLAGS) -c -o $@ $<

# docs/openapi.yaml, served at /api/v1/openapi.yaml, as a C array (od, awk).
%/server/openapi_yaml.c: docs/openapi.yaml
	@mkdir -p $(dir $@)
	{ echo '#include <stddef.h>'; \
	  echo 'extern const unsigned char mamorid_openapi_yaml[];'; \
	  echo 'extern const size_t mamorid_openapi_yaml_len;'; \
	  echo 'const unsigned char mamorid_openapi_yaml[] = {'; \
	  od -An -v -tx1 $< | \
	    awk '{ for (i = 1; i <= NF; i++) printf "0x%s,", $$i; print "" }'; \
	  echo '0x00};'; \
	  echo 'const size_t mamorid_openapi_yaml_len ='; \
	  echo '    sizeof mamorid_openapi_yaml - 1;'; } >$@.tmp
	mv $@.tmp $@

# web/ as a C table (tools/webembed.sh: od, awk, as for openapi.yaml).
%/server/web_files.c: $(WEB_FILES) tools/webembed.sh
	@mkdir -p $(dir $@)
	tools/webembed.sh $@ $(WEB_FILES)

$(BUILD)/server/web_files.o: $(BUILD)/server/web_files.c server/static.h
	$(CC) $(ALL_CFLAGS) -Iserver -c -o $@ $<

$(BUILD)/mamorid: $(SRV_OBJ) $(BUILD)/libmamori.a
	$(CC) $(ALL_CFLAGS) -o $@ $(SRV_OBJ) $(BUILD)/libmamori.a $(SRV_LIBS) \
	  $(LDLIBS)

$(BUILD)/mamori-synth: tools/synth.c $(BUILD)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmamori.a $(LDLIBS)

$(BUILD)/bench-vault: bench/bench_vault.c $(BUILD)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmamori.a $(LDLIBS)

$(BUILD)/mhd-floor: bench/mhd_floor.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) $(SRV_CFLAGS) -o $@ $< $(SRV_LIBS)

$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libmamori.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libmamori.a $(LDLIBS) -lcmocka

$(BUILD)/locale/%/LC_MESSAGES/mamori.mo: po/%.po
	@mkdir -p $(dir $@)
	msgfmt --check -o $@ $<

# ---- tests -----------------------------------------------------------------

# Builds use every CPU; the CLI tests run JOBS at a time (tests/cli/run.sh).
NPROC := $(shell nproc 2>/dev/null || echo 1)
check: deps-ok
	$(MAKE) format-check
	$(MAKE) -j$(NPROC) all build-clang/bench-vault build-clang/mhd-floor \
	  BUILD=build-clang CC=clang
	$(MAKE) -j$(NPROC) all unit-bin BUILD=build
	$(MAKE) test BUILD=build
	$(MAKE) e2e BUILD=build
	$(MAKE) -j$(NPROC) all unit-bin BUILD=build-san SAN=1
	$(MAKE) test BUILD=build-san SAN=1
	$(MAKE) -j$(NPROC) $(FUZZ_BIN)
	$(MAKE) fuzz-replay
	@echo "make check: all passed"

test: unit cli-test

unit-bin: $(UNIT_BIN)

unit: all $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; \
	  CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

# The load test (t_api_load) is skipped in the sanitizer pass: ASan's
# shadow memory and quarantine make its RSS and throughput meaningless.
cli-test: all
	$(if $(SAN),MAMORI_SKIP_LOAD=1) BUILD=$(BUILD) tests/cli/run.sh

# The web UI in headless Debian chromium (tests/e2e; not under SAN: the
# browser tests the UI, the CLI and API tests cover the server's memory).
e2e: all
	BUILD=$(BUILD) tests/e2e/run.sh

# ---- fuzzing (clang libFuzzer) ---------------------------------------------

# The library (and the server's request handling, without its main) is
# compiled once for all targets, instrumented for libFuzzer.
FUZZ_CFLAGS := -std=c11 -D_GNU_SOURCE -pthread -g -O1 -Iinclude -Ilib -Iserver \
               $(PKG_CFLAGS) $(SRV_CFLAGS) -Wall -Wextra -Werror
FUZZ_LIB_OBJ := $(LIB_SRC:%.c=$(FUZZ_BUILD)/%.o)
FUZZ_SRV_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o, \
                  $(filter-out server/main.c,$(SRV_SRC))) \
                $(FUZZ_BUILD)/server/openapi_yaml.o \
                $(FUZZ_BUILD)/server/web_files.o

$(FUZZ_LIB_OBJ) $(filter-out %/openapi_yaml.o %/web_files.o,$(FUZZ_SRV_OBJ)): \
    $(FUZZ_BUILD)/%.o: %.c $(SRV_HDR)
	@mkdir -p $(dir $@)
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined \
	  -c -o $@ $<

$(FUZZ_BUILD)/server/openapi_yaml.o: $(FUZZ_BUILD)/server/openapi_yaml.c
	clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/server/web_files.o: $(FUZZ_BUILD)/server/web_files.c
	clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_BUILD)/libmamori.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_BUILD)/libmamori.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(FUZZ_BUILD)/libmamori.a $(LDLIBS)

# The targets of the server's code link its objects too.
$(FUZZ_BUILD)/fuzz_http $(FUZZ_BUILD)/fuzz_json_out: \
    $(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c $(FUZZ_SRV_OBJ) $(FUZZ_BUILD)/libmamori.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined -o $@ $< \
	  $(FUZZ_SRV_OBJ) $(FUZZ_BUILD)/libmamori.a $(SRV_LIBS) $(LDLIBS)

fuzz-replay: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; \
	  echo "== replay $$n"; \
	  $$f -runs=0 fuzz/corpus/$$n >/dev/null 2>$(FUZZ_BUILD)/$$n.log || \
	    { cat $(FUZZ_BUILD)/$$n.log; exit 1; }; done

fuzz: $(FUZZ_BIN)
	@set -e; for f in $(FUZZ_BIN); do n=$${f##*/fuzz_}; \
	  mkdir -p $(FUZZ_BUILD)/corpus-$$n; \
	  $$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_BUILD)/corpus-$$n \
	    fuzz/corpus/$$n; done

# ---- demo, bench -----------------------------------------------------------

run: deps-ok all
	tools/demo.sh $(BUILD) --serve

bench: deps-ok all $(BUILD)/bench-vault $(BUILD)/mhd-floor
	bench/run.sh $(BUILD)

# ---- install, format, deps -------------------------------------------------

install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1
	install -m 0755 $(BUILD)/mamori $(DESTDIR)$(PREFIX)/bin/mamori
	install -m 0755 $(BUILD)/mamorid $(DESTDIR)$(PREFIX)/bin/mamorid
	install -m 0644 docs/mamori.1 $(DESTDIR)$(PREFIX)/share/man/man1/mamori.1
	@for mo in $(MO); do l=$${mo#$(BUILD)/locale/}; \
	  install -D -m 0644 $$mo $(DESTDIR)$(LOCALEDIR)/$$l; done

format:
	clang-format -i $(wildcard include/*.h lib/*.[ch] cli/*.[ch] \
	  server/*.[ch] tests/unit/*.c fuzz/*.c tools/*.c bench/*.c)

format-check:
	clang-format --dry-run -Werror $(wildcard include/*.h lib/*.[ch] \
	  cli/*.[ch] server/*.[ch] tests/unit/*.c fuzz/*.c tools/*.c bench/*.c)

deps:
	tools/deps.sh install

deps-ok:
	@tools/deps.sh check || tools/deps.sh install

clean:
	rm -rf build build-san build-fuzz build-clang
