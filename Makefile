# Alligate top-level Makefile (hand-written; configure only finds libraries).
#
#   make            build everything into $(BUILD)/
#   make run        install what is missing, build, run in the foreground
#   make check      install what is missing, build, run every test
#   make check-asan unit tests under AddressSanitizer + UBSan
#   make fuzz       build the libFuzzer targets and run each FUZZ_SECONDS
#   make docs       regenerate the parameter part of the docs from the table
#   make bench      build the benchmarks' own programs (bench/compare does)
#   make install DESTDIR=... prefix=/usr
#   make format     clang-format the lines changed since FORMAT_BASE (HEAD)
#   make check-package  build the Debian package, lint, install, try, purge

BUILD    ?= build
SAN      ?=
WARN      = -Wall -Wextra -Werror
# EXTRA_*: flags a distribution adds (debian/rules: dpkg-buildflags).
CPPFLAGS  = -I. -Ilib -D_GNU_SOURCE \
            -DALLIGATE_DAEMON_DIR='"$(prefix)/lib/alligate"' \
            -DALLIGATE_CONFIG_DIR='"/etc/alligate"' $(EXTRA_CPPFLAGS)
CFLAGS    = -std=c11 -O2 -g $(WARN) $(SAN) $(OPENSSL_CFLAGS) $(PCRE2_CFLAGS) \
            $(CARES_CFLAGS) $(ZSTD_CFLAGS) $(HIREDIS_CFLAGS) $(EXTRA_CFLAGS)
LDFLAGS   = $(SAN) -Wl,--as-needed $(EXTRA_LDFLAGS)
LIBS      = $(OPENSSL_LIBS) $(PCRE2_LIBS) $(CARES_LIBS) $(DB_LIBS) $(CRYPT_LIBS) \
            $(ZSTD_LIBS) $(HIREDIS_LIBS)

FUZZ_SECONDS ?= 60

# The programs: one folder each, main() in FOLDER/FOLDER.c.
PROGDIRS  = master smtpd tarpit ratekeeper dnscache authd archiver metrics relay alligatectl
PROGS     = $(foreach d,$(PROGDIRS),$(if $(wildcard $(d)/$(d).c),$(d)))

LIB_SRCS  = $(wildcard lib/*.c)
LIB_OBJS  = $(LIB_SRCS:%.c=$(BUILD)/%.o)
LIBA      = $(BUILD)/liballigate.a

UNIT_SRCS = $(wildcard t/unit/check_*.c)
UNIT_BINS = $(UNIT_SRCS:%.c=$(BUILD)/%)
# What the suites share (t/unit/fixture*.c: temporary directory, files,
# a forked server): an archive linked into each, not suites of their own.
UNIT_FIXTURE_SRCS = $(wildcard t/unit/fixture*.c)
UNIT_FIXTURE = $(BUILD)/t/unit/libfixture.a
TOOLS     = $(BUILD)/tools/conf_doc $(BUILD)/tools/metrics_doc
# Programs only the system tests use (t/tools/NAME.c), never installed.
TEST_TOOLS = $(patsubst t/tools/%.c,$(BUILD)/t/tools/%,$(wildcard t/tools/*.c))

# (Not for the targets that build nothing here.)
ifeq ($(filter clean distclean check-package format,$(MAKECMDGOALS)),)
include config.mk
endif

# Keep every intermediate object: nothing is printed after the test summary.
.SECONDARY:

.PHONY: all run check unit-check system-check check-asan check-docs docs \
        fuzz install clean distclean deps format bench check-package

all: $(PROGS:%=$(BUILD)/bin/%) $(TOOLS) $(TEST_TOOLS)

deps:
	@scripts/install-deps

config.mk: configure config.mk.in
	@scripts/install-deps
	./configure --prefix=/usr --sysconfdir=/etc

configure: configure.ac
	@scripts/install-deps
	autoreconf -fi

$(BUILD)/%.o: %.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c $< -o $@

$(LIBA): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# Each program's objects other than its main file form an archive of their
# own, so that unit tests can link a program's internal modules.
define PROG_template
$(1)_OBJS = $$(patsubst %.c,$(BUILD)/%.o,$$(filter-out $(1)/$(1).c,$$(wildcard $(1)/*.c)))
$(BUILD)/$(1)/lib$(1).a: $$($(1)_OBJS)
	@rm -f $$@
	@mkdir -p $$(dir $$@)
	ar rcs $$@ $$^ $$(if $$^,,$(BUILD)/lib/mymalloc.o)
$(BUILD)/bin/$(1): $(BUILD)/$(1)/$(1).o $(BUILD)/$(1)/lib$(1).a $(LIBA)
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach p,$(PROGS),$(eval $(call PROG_template,$(p))))
PROG_LIBS = $(foreach p,$(PROGS),$(BUILD)/$(p)/lib$(p).a)

$(UNIT_FIXTURE): $(UNIT_FIXTURE_SRCS:%.c=$(BUILD)/%.o)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/t/unit/%: $(BUILD)/t/unit/%.o $(UNIT_FIXTURE) $(PROG_LIBS) $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(CHECK_LIBS) $(LIBS)

$(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/t/tools/%: $(BUILD)/t/tools/%.o $(LIBA)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Tests ----------------------------------------------------------------------

check: all $(UNIT_BINS)
	@BUILD=$(BUILD) t/run-tests

unit-check: $(UNIT_BINS)
	@BUILD=$(BUILD) t/run-tests --unit

system-check: all
	@BUILD=$(BUILD) t/run-tests --system

# The Debian package: built in a copy of the tree, lintian --pedantic,
# installed, tried (debian/tests/smoke), purged (scripts/check-package).
# As root; never part of check.
check-package:
	@scripts/install-deps --package
	scripts/check-package

check-asan:
	@scripts/install-deps
	$(MAKE) BUILD=build-asan \
	    SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" \
	    unit-check

# The parameter part of alligate.conf(5) and etc/main.cf come from the
# parameter table, the list of alligate-metrics(8) from the table of
# metrics; t/run-tests fails when the committed files differ.
docs: $(TOOLS)
	$(BUILD)/tools/conf_doc man < man/alligate.conf.5.in > man/alligate.conf.5
	$(BUILD)/tools/conf_doc maincf < etc/main.cf.in > etc/main.cf
	$(BUILD)/tools/metrics_doc < man/alligate-metrics.8.in > man/alligate-metrics.8

# Fuzzing: clang's libFuzzer; never part of `make check`.  The shared
# sources (lib/ and every program but its main file) are compiled once into
# an archive, so that a target links only the modules it uses.
FUZZ_SRCS = $(wildcard fuzz/fuzz_*.c)
FUZZ_BINS = $(FUZZ_SRCS:fuzz/%.c=build-fuzz/%)
FUZZ_CC   = clang
FUZZ_SAN  = address,undefined
FUZZ_FLAGS = -std=c11 -g -O1 -fno-omit-frame-pointer -fno-sanitize-recover=all \
             -pthread $(CPPFLAGS) \
             $(OPENSSL_CFLAGS) $(PCRE2_CFLAGS) $(CARES_CFLAGS) $(ZSTD_CFLAGS) \
             $(HIREDIS_CFLAGS)
FUZZ_LIBSRC = $(LIB_SRCS) $(foreach p,$(PROGS),$(filter-out $(p)/$(p).c,$(wildcard $(p)/*.c)))
FUZZ_OBJS = $(FUZZ_LIBSRC:%.c=build-fuzz/obj/%.o)
FUZZ_LIBA = build-fuzz/libfuzz.a
FUZZ_OPTS = -timeout=10 -print_final_stats=0 -artifact_prefix=build-fuzz/

build-fuzz/.deps:
	@scripts/install-deps --fuzz
	@mkdir -p build-fuzz
	@touch $@

build-fuzz/obj/%.o: %.c config.mk | build-fuzz/.deps
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer-no-link,$(FUZZ_SAN) -MMD -MP \
	    -c $< -o $@

$(FUZZ_LIBA): $(FUZZ_OBJS)
	@rm -f $@
	ar rcs $@ $^

build-fuzz/fuzz_%: fuzz/fuzz_%.c $(FUZZ_LIBA) | build-fuzz/.deps
	$(FUZZ_CC) $(FUZZ_FLAGS) -fsanitize=fuzzer,$(FUZZ_SAN) -MMD -MP \
	    -o $@ $< $(FUZZ_LIBA) $(LIBS)

# build-fuzz/corpus/NAME is the writable corpus; fuzz/corpus/NAME holds the
# hand-made seeds and is only read.
fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
	    name=$${f#build-fuzz/fuzz_}; \
	    mkdir -p build-fuzz/corpus/$$name; \
	    seeds=; [ -d fuzz/corpus/$$name ] && seeds=fuzz/corpus/$$name; \
	    echo "fuzz: $$name for $(FUZZ_SECONDS)s"; \
	    $$f -max_total_time=$(FUZZ_SECONDS) $(FUZZ_OPTS) \
	        build-fuzz/corpus/$$name $$seeds || exit 1; \
	done

-include $(shell find build-fuzz -name '*.d' 2>/dev/null)

# Benchmarks: run by hand, never by all or check.  tls-source, the STARTTLS
# load generator, is self-contained (libc, pthreads, OpenSSL).
bench: $(BUILD)/bench/tls-source

$(BUILD)/bench/tls-source: bench/tls-source.c config.mk
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -D_GNU_SOURCE -pthread $(LDFLAGS) -o $@ $< $(OPENSSL_LIBS)

# Running --------------------------------------------------------------------

RUNDIR = $(CURDIR)/run
run: all
	@mkdir -p $(RUNDIR)/etc
	@sed -e 's|@RUNDIR@|$(RUNDIR)|g' -e 's|@BINDIR@|$(CURDIR)/$(BUILD)/bin|g' \
	    etc/main.cf.dev > $(RUNDIR)/etc/main.cf
	$(BUILD)/bin/alligatectl -c $(RUNDIR)/etc start --foreground

# Installing -----------------------------------------------------------------

DESTDIR ?=
install: all
	install -d $(DESTDIR)$(prefix)/sbin $(DESTDIR)$(prefix)/lib/alligate \
	    $(DESTDIR)/etc/alligate $(DESTDIR)$(prefix)/share/man/man5 \
	    $(DESTDIR)$(prefix)/share/man/man8
	install -m 755 $(BUILD)/bin/alligatectl $(DESTDIR)$(prefix)/sbin/
	for p in $(filter-out alligatectl,$(PROGS)); do \
	    install -m 755 $(BUILD)/bin/$$p $(DESTDIR)$(prefix)/lib/alligate/; done
	install -m 644 etc/main.cf $(DESTDIR)/etc/alligate/main.cf
	install -m 644 man/*.5 $(DESTDIR)$(prefix)/share/man/man5/
	install -m 644 man/*.8 $(DESTDIR)$(prefix)/share/man/man8/

# make format: the lines changed since FORMAT_BASE (by default HEAD: what
# is not committed yet; FORMAT_BASE=main for a whole branch) take the
# checked-in .clang-format, through git clang-format.  Not whole files:
# the older code's Postfix-style alignment (declarations, comments at
# column 40) is more than clang-format can express, and a tree-wide run
# would re-indent about 6% of the lines for nothing.
FORMAT_BASE ?= HEAD
format:
	git clang-format --extensions c,h $(FORMAT_BASE)

clean:
	rm -rf build build-asan build-fuzz

distclean: clean
	rm -rf config.mk config.h config.log config.status configure \
	    autom4te.cache config.h.in config.h.in~ aclocal.m4 run

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
