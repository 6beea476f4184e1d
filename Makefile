# SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
# netseg: BPF objects -> skeletons -> static binaries, plus tests, demo, bench.
# Quiet by default; `make V=1` shows every command. `make SANITIZE=1` builds
# with ASan+UBSan (dynamically linked: the sanitizers need it).

OUTPUT ?= $(abspath .output)
ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_DIR := vmlinux/$(ARCH)
CLANG ?= clang
LLVM_STRIP ?= llvm-strip
BPFTOOL ?= bpftool
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(OUTPUT)/%,%,$(2))";
endif

# Tracers: bpf/<t>.bpf.c + bpf/<t>.h + user/<t>.c
TRACERS := pktwatch kernel_icmp_rtt icmp_drop_detector tun_tx_to_kvm_irq status_ts
LIB_SRCS := $(wildcard user/lib/*.c)
LIB_OBJS := $(patsubst user/lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
# the front end: tools/netseg.c dispatches to one folder per part
NETSEG_SRCS := $(wildcard tools/*.c tools/*/*.c)
NETSEG_OBJS := $(patsubst tools/%.c,$(OUTPUT)/tools/%.o,$(NETSEG_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
BINS := $(addprefix $(OUTPUT)/bin/,$(TRACERS) netseg)
# Test-only programs for the VM test: tests/vmtest/<n>.c, with a BPF half
# when tests/vmtest/<n>.bpf.c exists; static, in $(OUTPUT)/vmtest/
VMTEST_BPF := $(patsubst tests/vmtest/%.bpf.c,%,$(wildcard tests/vmtest/*.bpf.c))
VMTEST_PROGS := $(patsubst tests/vmtest/%.c,%,$(filter-out %.bpf.c,$(wildcard tests/vmtest/*.c)))
VMTEST_BINS := $(addprefix $(OUTPUT)/vmtest/,$(VMTEST_PROGS))
BPF_HDRS := $(wildcard bpf/*.h)

CFLAGS ?= -g -O2
WARN := -Wall -Wextra -Werror
INCLUDES := -I$(OUTPUT) -Ibpf -Iuser
# BPF_PROG/BPF_KPROBE generate a ctx parameter that thin entry programs ignore
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(VMLINUX_DIR) -Ibpf $(WARN) -Wno-unused-parameter

ifeq ($(SANITIZE),1)
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LINK_MODE :=
else
SAN :=
LINK_MODE := -static
# no glibc resolver in a static binary (user/static_nonss.c says why)
STATIC_NONSS := $(OUTPUT)/static_nonss.o
endif
USER_CFLAGS := -std=gnu11 $(CFLAGS) $(WARN) $(SAN) $(INCLUDES)
# static archives from Debian's libbpf-dev, libelf-dev, zlib1g-dev, libzstd-dev
BPF_LIBS := -lbpf -lelf -lz -lzstd -lm
# user/lib/metrics.c serves --metrics with libevent's evhttp (libevent-dev);
# everything that links $(LIB_OBJS) needs them
LIB_LIBS := -levent_extra -levent_core -lpthread $(BPF_LIBS)

HAVE_IPPANTIME := $(wildcard ippantime/Makefile)

.PHONY: all clean deps test test-only unit vmtest-progs demo bench install dist vmlinux ippantime
.DEFAULT_GOAL := all
.DELETE_ON_ERROR:
.SECONDARY:

all: $(BINS) $(if $(HAVE_IPPANTIME),ippantime)

$(OUTPUT) $(OUTPUT)/lib $(OUTPUT)/bin $(OUTPUT)/tools $(OUTPUT)/tests $(OUTPUT)/vmtest:
	$(Q)mkdir -p $@

# ---- BPF side ---------------------------------------------------------------
$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_DIR)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o | $(OUTPUT)
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# ---- user side --------------------------------------------------------------
$(OUTPUT)/lib/%.o: user/lib/%.c $(wildcard user/lib/*.h) $(BPF_HDRS) | $(OUTPUT)/lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(OUTPUT)/%.o: user/%.c $(OUTPUT)/%.skel.h $(wildcard user/lib/*.h) $(BPF_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(OUTPUT)/tools/%.o: tools/%.c $(wildcard tools/*.h tools/*/*.h) $(wildcard user/lib/*.h) $(BPF_HDRS) | $(OUTPUT)/tools
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -Itools -c $< -o $@

$(OUTPUT)/static_nonss.o: user/static_nonss.c | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(OUTPUT)/bin/%: $(OUTPUT)/%.o $(LIB_OBJS) $(STATIC_NONSS) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN) $(LINK_MODE) $^ $(LIB_LIBS) -o $@

# tools/measure/env.c reads its environment file with libyaml (static archive
# from Debian's libyaml-dev)
$(OUTPUT)/bin/netseg: $(NETSEG_OBJS) $(LIB_OBJS) $(STATIC_NONSS) | $(OUTPUT)/bin
	$(call msg,LINK,$@)
	$(Q)$(CC) $(SAN) $(LINK_MODE) $^ -lyaml $(LIB_LIBS) -o $@

# `ippantime probe --kernel-ts` is status_ts's client role, linked in from this archive
STS_CLIENT_LIB := $(OUTPUT)/libstatus_ts_client.a
$(OUTPUT)/status_ts_client.o: user/status_ts_client.c user/status_ts_client.h $(OUTPUT)/status_ts.skel.h $(wildcard user/lib/*.h) $(BPF_HDRS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

# status_ts itself shares the client role's plan rules
$(OUTPUT)/bin/status_ts: $(OUTPUT)/status_ts_client.o

$(STS_CLIENT_LIB): $(OUTPUT)/status_ts_client.o $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

ippantime: $(STS_CLIENT_LIB)
	$(Q)$(MAKE) --no-print-directory -C ippantime OUTPUT=$(OUTPUT)/ippantime SANITIZE=$(SANITIZE) V=$(V) \
		KTS_LIB=$(STS_CLIENT_LIB) KTS_INC=$(CURDIR)/user

# ---- tests ------------------------------------------------------------------
$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(LIB_OBJS) $(wildcard tests/unit/*.h) | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(OUTPUT)/tests -Itests/unit -Itools $< $(LIB_OBJS) $(TEST_OBJS) -lcmocka $(TEST_LIBS) $(LIB_LIBS) -o $@

# the analyze log parsers' test links them (they are netseg's, not lib's)
ANALYZE_PARSE_OBJS := $(patsubst tools/%.c,$(OUTPUT)/tools/%.o,$(wildcard tools/analyze/parse*.c))
$(OUTPUT)/tests/test_analyze_parse: $(ANALYZE_PARSE_OBJS)
$(OUTPUT)/tests/test_analyze_parse: TEST_OBJS = $(ANALYZE_PARSE_OBJS)

# the measure environment file's test links its parser, which needs libyaml
$(OUTPUT)/tests/test_measure_env: $(OUTPUT)/tools/measure/env.o
$(OUTPUT)/tests/test_measure_env: TEST_OBJS = $(OUTPUT)/tools/measure/env.o
$(OUTPUT)/tests/test_measure_env: TEST_LIBS = -lyaml

# A unit test with a BPF half (tests/unit/<n>.bpf.c) gets its skeleton first.
UNIT_BPF := $(patsubst tests/unit/%.bpf.c,%,$(wildcard tests/unit/*.bpf.c))
$(OUTPUT)/tests/%.bpf.o: tests/unit/%.bpf.c $(BPF_HDRS) $(VMLINUX_DIR)/vmlinux.h | $(OUTPUT)/tests
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/unit -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(OUTPUT)/tests/%.skel.h: $(OUTPUT)/tests/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(foreach p,$(UNIT_BPF),$(eval $(OUTPUT)/tests/test_$(p): $(OUTPUT)/tests/$(p).skel.h))

unit: $(UNIT_BINS)

$(OUTPUT)/vmtest/%.bpf.o: tests/vmtest/%.bpf.c $(BPF_HDRS) $(VMLINUX_DIR)/vmlinux.h | $(OUTPUT)/vmtest
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/vmtest -c $< -o $@.tmp
	$(Q)$(LLVM_STRIP) -g $@.tmp -o $@ && rm -f $@.tmp

$(OUTPUT)/vmtest/%.skel.h: $(OUTPUT)/vmtest/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# a program's skeleton, when it has a BPF half, is built before it
$(foreach p,$(VMTEST_BPF),$(eval $(OUTPUT)/vmtest/$(p): $(OUTPUT)/vmtest/$(p).skel.h))

$(OUTPUT)/vmtest/%: tests/vmtest/%.c $(LIB_OBJS) $(STATIC_NONSS) $(wildcard tests/vmtest/*.h) | $(OUTPUT)/vmtest
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -I$(OUTPUT)/vmtest -Itests/vmtest -static $< $(LIB_OBJS) $(STATIC_NONSS) $(LIB_LIBS) -o $@

vmtest-progs: $(VMTEST_BINS)

deps:
	$(Q)tools/deps.sh $(if $(HAVE_IPPANTIME),ippantime/deps.txt) tests/vmtest/deps.txt

# `make test` installs what is missing (as root), builds, then runs every test.
# The VM test's programs are static; a sanitized build cannot link them, and
# tests/vmtest/run.sh builds its own unsanitized static copies then.
test: deps
	$(Q)$(MAKE) --no-print-directory all unit $(if $(filter 1,$(SANITIZE)),,vmtest-progs)
	$(Q)OUTPUT=$(OUTPUT) SANITIZE=$(SANITIZE) tests/run

# the same without installing packages or rebuilding
test-only:
	$(Q)OUTPUT=$(OUTPUT) SANITIZE=$(SANITIZE) tests/run


demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)OUTPUT=$(OUTPUT) tools/demo.sh

$(OUTPUT)/bench/%: tests/bench/%.c
	$(call msg,CC,$@)
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) -std=gnu11 -O2 $(WARN) $< -o $@

# the parsers' benchmark links them
$(OUTPUT)/bench/analyze_parse: tests/bench/analyze_parse.c $(ANALYZE_PARSE_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(OUTPUT)/bench
	$(Q)$(CC) $(USER_CFLAGS) -Itools $< $(ANALYZE_PARSE_OBJS) -o $@

bench: deps
	$(Q)$(MAKE) --no-print-directory all $(patsubst tests/bench/%.c,$(OUTPUT)/bench/%,$(wildcard tests/bench/*.c))
	$(Q)OUTPUT=$(OUTPUT) tests/bench/run.sh

install: all
	$(call msg,INSTALL,$(DESTDIR)$(PREFIX))
	$(Q)install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/share/man/man8
	$(Q)install -m 0755 $(BINS) $(DESTDIR)$(PREFIX)/sbin/
	$(Q)install -m 0644 $(wildcard man/man8/*.8) $(DESTDIR)$(PREFIX)/share/man/man8/
	$(if $(HAVE_IPPANTIME),$(Q)$(MAKE) --no-print-directory -C ippantime install OUTPUT=$(OUTPUT)/ippantime DESTDIR=$(DESTDIR) PREFIX=$(PREFIX) KTS_LIB=$(STS_CLIENT_LIB) KTS_INC=$(CURDIR)/user)

# a tarball of static binaries and man pages to scp to hosts and VMs
dist: all
	$(call msg,DIST,$(OUTPUT)/netseg-$(VERSION)-$(shell uname -m).tar.gz)
	$(Q)rm -rf $(OUTPUT)/dist && $(MAKE) --no-print-directory install DESTDIR=$(OUTPUT)/dist PREFIX=/netseg-$(VERSION) >/dev/null
	$(Q)tar -C $(OUTPUT)/dist -czf $(OUTPUT)/netseg-$(VERSION)-$(shell uname -m).tar.gz netseg-$(VERSION)

# regenerate the vendored vmlinux.h from this machine's kernel BTF
vmlinux:
	$(call msg,GEN,$(VMLINUX_DIR)/vmlinux.h)
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(Q)$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h.tmp
	$(Q)mv $(VMLINUX_DIR)/vmlinux.h.tmp $(VMLINUX_DIR)/vmlinux.h

clean:
	$(call msg,CLEAN,$(OUTPUT))
	$(Q)rm -rf $(OUTPUT)
