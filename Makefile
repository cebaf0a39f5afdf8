# offsite-backup build.
#
#   make            build offsite-backupd, offsite-backupctl and test tools
#   make deps       install the Debian build and test dependencies (quick no-op
#                   when present)
#   make check      unit tests, the SigV4 suite, the emulator integration
#                   tests and the short reliability campaigns (SANITIZE=1: the
#                   same under AddressSanitizer+UBSan)
#   make soak       the long reliability campaigns (docs/reliability.md)
#   make fuzz       the libFuzzer harnesses, FUZZ_SECONDS each
#   make bench      print `bench <name> <value> <unit>` figures
#   make demo       run the main job end to end on the local emulator
#   make install    honours DESTDIR and PREFIX
#   make deb        build the Debian package from a clean copy of the tree into
#                   $(BUILD)/deb/ (the .deb is left there)
#   make package-test
#                   make deb, then lint it, check the unit's sandbox score and
#                   install, inspect and purge it on this machine (root)

PREFIX     ?= /usr
SBINDIR    ?= $(PREFIX)/sbin
BINDIR     ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
UNITDIR    ?= /lib/systemd/system
MANDIR     ?= $(PREFIX)/share/man

CC         ?= gcc
PKG_CONFIG ?= pkg-config
PYTHON     ?= python3
SIGV4_SUITE_DIR ?= ../shared/sigv4-suite
WERROR     ?= 1
SANITIZE   ?= 0

PKGS       := libcurl openssl jansson expat libsystemd sqlite3

ifeq ($(SANITIZE),1)
BUILD      ?= build-asan
SANFLAGS   := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
OPT        := -O1
else
BUILD      ?= build
SANFLAGS   :=
OPT        := -O2
endif

WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
              -Wformat=2 -Wvla
ifeq ($(WERROR),1)
WARN       += -Werror
endif

# pkg-config runs lazily so that `make deps` works before the -dev packages
# are installed.
PKG_CFLAGS  = $(shell $(PKG_CONFIG) --cflags $(PKGS))
PKG_LIBS    = $(shell $(PKG_CONFIG) --libs $(PKGS))
CHECK_CFLAGS = $(shell $(PKG_CONFIG) --cflags check)
CHECK_LIBS   = $(shell $(PKG_CONFIG) --libs check)

CPPFLAGS   += -Iinclude -D_DEFAULT_SOURCE -D_POSIX_C_SOURCE=200809L
CFLAGS     ?= -g $(OPT)
ALL_CFLAGS  = -std=c17 $(WARN) $(SANFLAGS) $(CFLAGS) $(PKG_CFLAGS) -MMD -MP
ALL_LDFLAGS = $(SANFLAGS) $(LDFLAGS)

# Every module but the two mains goes into the static library.
LIB_SRCS := \
	src/error.c \
	src/buf.c \
	src/clock.c \
	src/uri.c \
	src/awsid.c \
	src/sigv4.c \
	src/http.c \
	src/retry.c \
	src/xml.c \
	src/aws.c \
	src/client.c \
	src/creds.c \
	src/sts.c \
	src/sqs.c \
	src/rds.c \
	src/sns.c \
	src/alert.c \
	src/cloudwatch.c \
	src/config.c \
	src/log.c \
	src/fsm.c \
	src/store.c \
	src/event.c \
	src/ident.c \
	src/announce.c \
	src/jobs.c \
	src/export.c \
	src/source.c \
	src/target.c \
	src/daemon.c \
	src/metrics.c \
	src/report.c \
	src/retain.c \
	src/session.c \
	src/rebuild.c \
	src/ctl.c

DAEMON_SRCS := src/main.c
CTL_SRCS    := src/ctl_main.c

TEST_SRCS := \
	tests/check_main.c \
	tests/http_fake.c \
	tests/check_util.c \
	tests/check_error.c \
	tests/check_buf.c \
	tests/check_clock.c \
	tests/check_uri.c \
	tests/check_awsid.c \
	tests/check_sigv4.c \
	tests/check_retry.c \
	tests/check_http.c \
	tests/check_xml.c \
	tests/check_aws.c \
	tests/check_creds.c \
	tests/check_config.c \
	tests/check_clients.c \
	tests/check_fsm.c \
	tests/check_store.c \
	tests/check_event.c \
	tests/check_ident.c \
	tests/check_announce.c \
	tests/check_retain.c \
	tests/check_ctl.c \
	tests/check_rebuild.c \
	tests/check_daemon.c \
	tests/check_metrics.c \
	tests/check_alert.c \
	tests/check_export.c

SUITE_SRCS := tests/sigv4_suite.c
PROBE_SRCS := tests/integration/ob_probe.c
BENCH_SRCS := tests/bench/bench_sigv4.c

objs = $(patsubst %.c,$(BUILD)/%.o,$(1))

LIB      := $(BUILD)/libob.a
DAEMON   := $(BUILD)/offsite-backupd
CTL      := $(BUILD)/offsite-backupctl
TESTS    := $(BUILD)/check_ob
SUITE    := $(BUILD)/sigv4-suite
PROBE    := $(BUILD)/ob-probe
BENCH    := $(BUILD)/bench-sigv4

ALL_OBJS := $(call objs,$(LIB_SRCS) $(DAEMON_SRCS) $(CTL_SRCS) $(TEST_SRCS) \
	$(SUITE_SRCS) $(PROBE_SRCS) $(BENCH_SRCS))

.PHONY: all deps check unit sigv4-suite integration docs-test bench demo install clean \
	deb package-test reliability soak
.DEFAULT_GOAL := all

all: $(DAEMON) $(CTL) $(SUITE) $(PROBE) $(BENCH)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(LIB): $(call objs,$(LIB_SRCS))
	@rm -f $@
	$(AR) rcs $@ $^

$(DAEMON): $(call objs,$(DAEMON_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(CTL): $(call objs,$(CTL_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(SUITE): $(call objs,$(SUITE_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(PROBE): $(call objs,$(PROBE_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(BENCH): $(call objs,$(BENCH_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

# The memory campaign (tests/memory/, run by `make reliability`): ob-seed
# fills a state database through the library.
SEED_SRCS := tests/memory/ob_seed.c
SEED      := $(BUILD)/ob-seed
ALL_OBJS  += $(call objs,$(SEED_SRCS))
all: $(SEED)

$(SEED): $(call objs,$(SEED_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(call objs,$(TEST_SRCS)): ALL_CFLAGS += $(CHECK_CFLAGS)
$(TESTS): $(call objs,$(TEST_SRCS)) $(LIB)
	$(CC) $(ALL_LDFLAGS) -o $@ $^ $(PKG_LIBS) $(CHECK_LIBS)

deps:
	@sh tests/install-deps.sh

# CAMPAIGNS=0 leaves out the reliability campaigns and the fuzz regression
# inputs (CI's AddressSanitizer pass: the campaigns ran in the plain pass,
# and the fuzzers are built with ASan anyway).
CAMPAIGNS  ?= 1
ifeq ($(CAMPAIGNS),1)
CHECK_CAMPAIGNS := reliability fuzz-regress
endif

check: deps
	$(MAKE) unit sigv4-suite integration docs-test $(CHECK_CAMPAIGNS)

# Every JSON block in the docs parses; the IAM policies name exactly the
# API actions the code calls.
docs-test:
	$(PYTHON) tests/docs/check_docs.py

unit: $(TESTS)
	CK_FORK=yes $(TESTS)

sigv4-suite: $(SUITE)
	@sh tests/run-sigv4-suite.sh $(SUITE) $(SIGV4_SUITE_DIR)

integration: $(DAEMON) $(CTL) $(PROBE)
	$(PYTHON) tests/emulator/selftest.py
	$(PYTHON) tests/integration/run.py --build $(BUILD)

# The crash, wire-fault, disk, two-sources and memory campaigns
# (docs/reliability.md): short forms here, long ones in `make soak`.
reliability: all
	SANITIZE=$(SANITIZE) PYTHON=$(PYTHON) sh tests/reliability/run.sh $(BUILD)

soak: deps
	$(MAKE) all
	SANITIZE=$(SANITIZE) PYTHON=$(PYTHON) sh tests/reliability/run.sh $(BUILD) --soak

bench: deps $(BENCH) $(DAEMON)
	@sh tests/bench/run.sh $(BUILD)

# The main job end to end on the local emulator: two accounts, two daemons,
# snapshots travelling source -> vault; about a minute, leaves nothing running.
demo: deps
	$(MAKE) $(DAEMON)
	$(PYTHON) tests/demo/demo.py $(BUILD)

# The configuration file is installed only when absent: make install must
# never overwrite an operator's settings (the Debian package marks it a
# conffile). It holds no secret as shipped; a static secret needs mode 0600.
install: $(DAEMON) $(CTL)
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSCONFDIR) \
		$(DESTDIR)$(UNITDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man8
	install -m 0755 $(DAEMON) $(DESTDIR)$(SBINDIR)/offsite-backupd
	install -m 0755 $(CTL) $(DESTDIR)$(BINDIR)/offsite-backupctl
	install -m 0644 systemd/offsite-backup.service $(DESTDIR)$(UNITDIR)/offsite-backup.service
	install -m 0644 docs/man/offsite-backupctl.1 $(DESTDIR)$(MANDIR)/man1/offsite-backupctl.1
	install -m 0644 docs/man/offsite-backup.conf.5 $(DESTDIR)$(MANDIR)/man5/offsite-backup.conf.5
	install -m 0644 docs/man/offsite-backupd.8 $(DESTDIR)$(MANDIR)/man8/offsite-backupd.8
	[ -e $(DESTDIR)$(SYSCONFDIR)/offsite-backup.conf ] || \
		install -m 0640 etc/offsite-backup.conf $(DESTDIR)$(SYSCONFDIR)/offsite-backup.conf

# The Debian package, built by dpkg-buildpackage from a clean copy of the
# source tree in $(DEB_DIR)/offsite-backup/ so that neither this tree nor
# its build directories end up in it or are touched; the .deb (and .buildinfo,
# .changes) land in $(DEB_DIR)/. The copy builds with debian/rules' flags
# only: this make's command-line variables (BUILD, SANITIZE, WERROR, CFLAGS)
# are kept out of it.
DEB_DIR    := $(BUILD)/deb
DEB_SRC    := Makefile README.md src include etc systemd docs debian tests

deb:
	@sh tests/install-deps.sh --packages-only
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/offsite-backup
	tar -cf - --exclude=__pycache__ --exclude='*.pyc' --exclude=debian/.debhelper \
		--exclude=debian/offsite-backup --exclude=debian/files \
		--exclude='debian/*.substvars' --exclude='debian/*.log' \
		--exclude=debian/debhelper-build-stamp $(DEB_SRC) | \
		tar -xf - -C $(DEB_DIR)/offsite-backup
	cd $(DEB_DIR)/offsite-backup && env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
		-u BUILD -u SANITIZE -u WERROR -u CFLAGS -u CPPFLAGS -u LDFLAGS \
		dpkg-buildpackage -us -uc -b
	@ls $(DEB_DIR)/*.deb

package-test: deb
	@sh tests/package/run.sh $(BUILD)

clean:
	rm -rf build build-asan build-fuzz

# The libFuzzer harnesses (clang): make fuzz, fuzz-regress, fuzz-build.
include tests/fuzz/fuzz.mk

-include $(ALL_OBJS:.o=.d)
