# vigil — one hand-written Makefile.
#   make            build every program into bin/
#   make test       unit tests (bin/selftest) and bats end-to-end tests
#   make demo       the main job on simulated data over stdio pipes
#   make bench      throughput and speed ratios
#   make install PREFIX=/usr/local
#   make SAN=1 ...  build with AddressSanitizer and UBSan (into build-san/)
#   make fuzz       run every libFuzzer harness for FUZZ_SECONDS (default 60)

PREFIX  ?= /usr/local
CC      ?= cc
OPT     ?= -O2
CFLAGS  ?= $(OPT) -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Ilib -Isim -MMD -MP
LDLIBS  += -lczmq -lzmq -lmsgpackc -ljansson -lopenblas -lpthread -lm

ifeq ($(SAN),1)
BUILD   ?= build-san
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else
BUILD   ?= build
endif
BIN     := $(BUILD)/bin

LIB_SRC := $(wildcard lib/*.c sim/*.c)
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
PROGS   := $(patsubst cmd/%.c,$(BIN)/%,$(wildcard cmd/*.c))

.PHONY: all deps test check demo bench install clean fuzz bin
all: deps $(PROGS) $(BIN)/selftest bin

# bin/ is where users and scripts find the programs of the last build (a
# link, re-pointed by every build, so `make` after `make SAN=1` is plain again).
bin: $(PROGS) $(BIN)/selftest
	@if [ "$(BUILD)" = build ] || [ "$(BUILD)" = build-san ]; then rm -f bin && ln -sfn $(BIN) bin; fi

deps:
	@sh scripts/deps.sh

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libvigil.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/%: $(BUILD)/cmd/%.o $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libvigil.a $(LDLIBS)

# The self-test runs every `mod_test (bool verbose)` defined in lib/ and sim/.
# Regenerated on every run (cheap), rewritten only when the list changes.
$(BUILD)/selftest_list.h: FORCE
	@mkdir -p $(@D)
	@grep -h '^[a-z0-9_]*_test (bool verbose)$$' $(LIB_SRC) \
	  | sed 's/^\([a-z0-9_]*\)_test.*/T(\1)/' > $@.tmp
	@if cmp -s $@.tmp $@; then rm $@.tmp; else mv $@.tmp $@; fi

FORCE:

# keep the objects of the programs (make would delete them as intermediates)
.SECONDARY: $(LIB_OBJ) $(PROGS:$(BIN)/%=$(BUILD)/cmd/%.o)

$(BUILD)/tests/selftest.o: tests/selftest.c $(BUILD)/selftest_list.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -I$(BUILD) -c $< -o $@

$(BIN)/selftest: $(BUILD)/tests/selftest.o $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(BUILD)/libvigil.a $(LDLIBS)

test check: all
	@BIN=$(abspath $(BIN)) sh scripts/test.sh

demo: all
	@BIN=$(abspath $(BIN)) sh pipelines/demo.sh

bench: all
	@BIN=$(abspath $(BIN)) sh bench/run.sh

install: all
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 755 $(PROGS) $(DESTDIR)$(PREFIX)/bin

clean:
	rm -rf build build-san build-fuzz bin

include fuzz/fuzz.mk

-include $(LIB_OBJ:.o=.d) $(BUILD)/tests/selftest.d $(wildcard $(BUILD)/cmd/*.d)
