# Fuzzing with libFuzzer (clang), included by the Makefile.
#   make fuzz                  build every fuzz/fuzz_*.c and run each for
#                              FUZZ_SECONDS (default 60) on its seed corpus
#   make fuzz FUZZ_SECONDS=600 FUZZ_TARGETS="frame csv"
#   make fuzz-build            only build (into $(FUZZ_BUILD)/)
# Seeds are read from tests/fuzz-corpus/<target>/ and never written; new
# inputs go to $(FUZZ_BUILD)/corpus/<target>/, crashes to
# $(FUZZ_BUILD)/crashes/.  A crash fails the run.

FUZZ_SECONDS ?= 60
FUZZ_BUILD   ?= build-fuzz
FUZZ_CC      ?= clang
FUZZ_FLAGS   ?= -g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined \
                -fno-sanitize-recover=undefined \
                -fsanitize-recover=nonnull-attribute,pointer-overflow
FUZZ_CFLAGS  := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib -Isim -Ifuzz $(FUZZ_FLAGS)
FUZZ_ALL     := $(patsubst fuzz/fuzz_%.c,%,$(wildcard fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_LIB_OBJ := $(patsubst %.c,$(FUZZ_BUILD)/%.o,$(wildcard lib/*.c sim/*.c))

.PHONY: fuzz fuzz-build fuzz-deps
fuzz: fuzz-build
	@FUZZ_BUILD=$(FUZZ_BUILD) FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh $(FUZZ_TARGETS)

fuzz-build: deps fuzz-deps $(FUZZ_TARGETS:%=$(FUZZ_BUILD)/fuzz_%)

fuzz-deps:
	@sh scripts/fuzz-deps.sh

$(FUZZ_BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_BUILD)/libvigil.a: $(FUZZ_LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: fuzz/fuzz_%.c fuzz/fuzz.h $(FUZZ_BUILD)/libvigil.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< -o $@ $(FUZZ_BUILD)/libvigil.a $(LDLIBS)

-include $(FUZZ_LIB_OBJ:.o=.d)
