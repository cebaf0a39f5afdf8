# libFuzzer harnesses for the parsers that read hostile input (issue 6).
# Included by the top Makefile, whose variables it reuses (LIB_SRCS,
# CPPFLAGS, PKG_CFLAGS, PKG_LIBS, WARN).
#
#   make fuzz          run every harness for FUZZ_SECONDS (default 300) on a
#                      scratch copy of its corpus, FUZZ_JOBS (default 1) at a
#                      time; prints `fuzz <name> <execs> execs <crashes> crashes`
#                      per harness and fails when any crashed
#   make fuzz-regress  run every harness once over its corpus and its
#                      committed crash inputs (tests/fuzz/regress/<name>/);
#                      seconds, part of `make check`
#   make fuzz-build    only build the harnesses
#
# Everything is built with clang into $(FUZZ_BUILD): the library with
# -fsanitize=fuzzer-no-link,address,undefined (coverage, no main), each
# harness linked with -fsanitize=fuzzer,address,undefined. New inputs go to
# $(FUZZ_BUILD)/work/, never into the committed corpus.

FUZZ_CC      ?= clang
FUZZ_BUILD   ?= build-fuzz
FUZZ_SECONDS ?= 300
FUZZ_JOBS    ?= 1
FUZZ_NAMES   := event announce xml aws_error config sigv4

# clang's -Wformat=2 also flags the vsnprintf() inside printf-style
# wrappers (ob_error_set, ob_buf_printf), which gcc accepts: their callers
# are checked through the format attribute on the prototype.
FUZZ_WARN    := -Wno-format-nonliteral
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS   = -std=c17 $(WARN) $(FUZZ_WARN) -g -O1 $(FUZZ_SAN) $(PKG_CFLAGS) -MMD -MP

FUZZ_LIB_OBJS := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(LIB_SRCS))
FUZZ_HARNESS_OBJS := $(patsubst %,$(FUZZ_BUILD)/tests/fuzz/fuzz_%.o,$(FUZZ_NAMES))
FUZZ_LIB      := $(FUZZ_BUILD)/libob-fuzz.a
FUZZ_BINS     := $(patsubst %,$(FUZZ_BUILD)/fuzz_%,$(FUZZ_NAMES))

.PHONY: fuzz fuzz-regress fuzz-build

# Static pattern rules, so they never compete with the top Makefile's
# $(BUILD)/%.o rule.
$(FUZZ_LIB_OBJS): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_HARNESS_OBJS): $(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(CPPFLAGS) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_LIB): $(FUZZ_LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(FUZZ_BINS): $(FUZZ_BUILD)/fuzz_%: $(FUZZ_BUILD)/tests/fuzz/fuzz_%.o $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_JOBS=$(FUZZ_JOBS) \
		bash tests/fuzz/run.sh fuzz $(FUZZ_BUILD) $(FUZZ_NAMES)

fuzz-regress: $(FUZZ_BINS)
	bash tests/fuzz/run.sh regress $(FUZZ_BUILD) $(FUZZ_NAMES)

-include $(FUZZ_LIB_OBJS:.o=.d) $(FUZZ_HARNESS_OBJS:.o=.d)
