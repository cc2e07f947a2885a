# SPDX-License-Identifier: GPL-2.0-only
# arenatrace: one top-level Makefile. The source tree is never written to; everything goes to
# $(OUTPUT). Missing Debian packages are installed by scripts/install-deps.sh first.

OUTPUT ?= $(abspath .output)
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config

ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/' -e 's/ppc64le/powerpc/' \
	-e 's/s390x/s390/' -e 's/riscv64/riscv/')
VMLINUX_DIR := vmlinux/$(shell uname -m)
VMLINUX_H ?= $(VMLINUX_DIR)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(patsubst $(OUTPUT)/%,%,$(2))";
endif

OPT := $(if $(DEBUG),-O0,-O2)
WARN := -Wall -Wextra -Wshadow -Wmissing-prototypes -Wstrict-prototypes $(if $(CI),-Werror)
# Evaluated at recipe time, after the dependency check has installed pkg-config's modules.
PKGS := libbpf libelf libdw zlib json-c libmicrohttpd
EXTRA_LIBS := -liberty
# user/ is layered (docs/design.md, "Source layout"); each folder is on the quote path.
USER_DIRS := app out probe model books kern sys
USER_CFLAGS = $(OPT) -g -std=gnu11 $(WARN) -D_GNU_SOURCE -iquote $(OUTPUT) -iquote bpf \
	$(addprefix -iquote user/,$(USER_DIRS)) $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CFLAGS)
USER_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(EXTRA_LIBS) $(LDLIBS)
CLANG_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Ibpf -I$(dir $(VMLINUX_H)) \
	$(CLANG_SYS_INCLUDES)

# maps.bpf.o, which defines the shared maps, must be linked first: libbpf 1.1's linker
# misplaces an extern map that it meets before the map's definition.
BPF_SRCS := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)
USER_SRCS := $(filter-out user/app/main.c,$(wildcard $(addsuffix /*.c,$(addprefix user/,$(USER_DIRS)))))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(WORKLOAD_SRCS))
DEPS_STAMP := $(OUTPUT)/.deps-ok

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps check test demo bench install clean format vmlinux workloads FORCE

all: $(OUTPUT)/arenatrace

deps:
	$(Q)sh scripts/install-deps.sh

# Checked on every build (a dpkg query, a fraction of a second): whatever is missing, even
# after a first successful build, is installed again.
$(DEPS_STAMP): FORCE
	$(Q)mkdir -p $(@D)
	$(Q)sh scripts/install-deps.sh
	$(Q)touch $@

FORCE:

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(DEPS_STAMP)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/arenatrace.bpf.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/arenatrace.skel.h: $(OUTPUT)/arenatrace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name arenatrace_bpf > $@

$(OUTPUT)/user/%.o: user/%.c | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# Only the loader includes the skeleton: a BPF change rebuilds it alone.
$(OUTPUT)/user/kern/loader.o: $(OUTPUT)/arenatrace.skel.h

$(OUTPUT)/arenatrace: $(OUTPUT)/user/app/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LIBS)

# test_books_jemalloc reads the books of these workloads.
$(OUTPUT)/tests/test_books_jemalloc: $(OUTPUT)/workloads/je_books $(OUTPUT)/workloads/je_books_static

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(USER_OBJS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -o $@ $< $(USER_OBJS) $(USER_LIBS) -lcmocka

# Workloads are built at -O0 so that malloc/free pairs are not optimised away.
$(OUTPUT)/workloads/%: tests/workloads/%.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -pthread -o $@ $< \
		$(if $(filter je_% demo,$*),-ljemalloc) $(if $(filter mi_%,$*),-lmimalloc)

# One source, one build per allocator.
HEAP_VARIANTS := $(OUTPUT)/workloads/je_heap_calls $(OUTPUT)/workloads/je_heap_calls_static \
	$(OUTPUT)/workloads/mi_heap_calls
$(OUTPUT)/workloads/je_heap_calls: tests/workloads/heap_calls.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_JEMALLOC -pthread -o $@ $< -ljemalloc
$(OUTPUT)/workloads/je_heap_calls_static: tests/workloads/heap_calls.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_JEMALLOC -pthread -o $@ $< \
		/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a -lpthread -ldl -lm
# je_books linked with Debian's libjemalloc_pic.a: jemalloc's globals are in the executable's
# .symtab (books/jemalloc.c reads them by name there).
$(OUTPUT)/workloads/je_books_static: tests/workloads/je_books.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -pthread -o $@ $< \
		/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a -lpthread -ldl -lm
HEAP_VARIANTS += $(OUTPUT)/workloads/je_books_static
$(OUTPUT)/workloads/mi_heap_calls: tests/workloads/heap_calls.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_MIMALLOC -pthread -o $@ $< -lmimalloc

$(OUTPUT)/workloads/cxx_new: tests/workloads/cxx_new.cc tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O0 -g -Wall -D_GNU_SOURCE -o $@ $<
$(OUTPUT)/workloads/je_cxx_new: tests/workloads/cxx_new.cc tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -ljemalloc
HEAP_VARIANTS += $(OUTPUT)/workloads/cxx_new $(OUTPUT)/workloads/je_cxx_new
$(OUTPUT)/workloads/je_bench_malloc: tests/workloads/bench_malloc.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -ljemalloc
$(OUTPUT)/workloads/mi_bench_malloc: tests/workloads/bench_malloc.c tests/workloads/truth.h | $(DEPS_STAMP)
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -lmimalloc
HEAP_VARIANTS += $(OUTPUT)/workloads/je_bench_malloc $(OUTPUT)/workloads/mi_bench_malloc

# Rust: bumpalo over Debian's jemalloc (libjemalloc_pic.a, so jemalloc-sys builds nothing),
# with Debian's cargo and crates only (tests/workloads/rust_bump/.cargo/config.toml), in a
# normal release profile and with fat LTO.
RUST_SRCS := $(wildcard tests/workloads/rust_bump/src/*.rs) tests/workloads/rust_bump/Cargo.toml
RUST_ENV := CARGO_HOME=$(OUTPUT)/cargo-home CARGO_TARGET_DIR=$(OUTPUT)/cargo-target \
	JEMALLOC_OVERRIDE=/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a PATH=/usr/bin:/bin
$(OUTPUT)/workloads/rust_bump: $(RUST_SRCS) | $(DEPS_STAMP)
	$(call msg,CARGO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/workloads/rust_bump && $(RUST_ENV) /usr/bin/cargo build -q --offline --release
	$(Q)cp $(OUTPUT)/cargo-target/release/rust_bump $@
$(OUTPUT)/workloads/rust_bump_lto: $(RUST_SRCS) | $(DEPS_STAMP)
	$(call msg,CARGO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/workloads/rust_bump && $(RUST_ENV) /usr/bin/cargo build -q --offline --profile rel-lto
	$(Q)cp $(OUTPUT)/cargo-target/rel-lto/rust_bump $@
HEAP_VARIANTS += $(OUTPUT)/workloads/rust_bump $(OUTPUT)/workloads/rust_bump_lto

workloads: $(WORKLOADS) $(HEAP_VARIANTS)

check: $(UNIT_BINS)
	$(Q)set -e; for t in $(UNIT_BINS); do $$t; done

test: check all workloads
	$(Q)sh tests/run-e2e.sh $(OUTPUT)

demo: all workloads
	$(Q)sh scripts/demo.sh $(OUTPUT)

bench: all workloads
	$(Q)sh scripts/bench.sh $(OUTPUT)

# The systemd unit goes where systemd looks for local units: /etc/systemd/system for
# /usr/local, $(PREFIX)/lib/systemd/system otherwise (a package). UNITDIR overrides it.
UNITDIR ?= $(if $(filter /usr/local,$(PREFIX)),/etc/systemd/system,$(PREFIX)/lib/systemd/system)
install: all
	install -D -m 0755 $(OUTPUT)/arenatrace $(DESTDIR)$(PREFIX)/sbin/arenatrace
	install -D -m 0644 docs/arenatrace.8 $(DESTDIR)$(PREFIX)/share/man/man8/arenatrace.8
	install -d $(DESTDIR)$(UNITDIR)
	sed 's|@SBINDIR@|$(PREFIX)/sbin|' scripts/arenatrace.service.in > $(DESTDIR)$(UNITDIR)/arenatrace.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/arenatrace.service

clean:
	rm -rf $(OUTPUT)

format:
	clang-format -i user/*/*.c user/*/*.h bpf/*.c bpf/*.h tests/unit/*.c

vmlinux:
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h

-include $(wildcard $(OUTPUT)/user/*/*.d)
