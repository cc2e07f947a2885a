# SPDX-License-Identifier: GPL-2.0-only
# arenatrace: one top-level Makefile. The source tree is never written to; everything goes to
# $(OUTPUT). Each target first installs the Debian packages of the sets it needs
# (scripts/install-deps.sh: build, unit, test, demo, bench, format).

# SANITIZE=1: the user space built with AddressSanitizer and UBSan, in an output of its own.
OUTPUT ?= $(abspath .output)$(if $(SANITIZE),-san)
PREFIX ?= /usr/local
DESTDIR ?=
CC ?= cc
CLANG ?= clang
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
PKG_CONFIG ?= pkg-config

# x86_64 only: probes are placed by decoding x86 instructions, and registers are x86's.
MACHINE := $(shell uname -m)
ifneq ($(MACHINE),x86_64)
$(error arenatrace builds on x86_64 only, not on $(MACHINE))
endif
VMLINUX_DIR := vmlinux/x86_64
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
PKGS := libbpf libelf libdw libdebuginfod zlib json-c libmicrohttpd libprotobuf-c
EXTRA_LIBS := -liberty
# user/ is layered (docs/design.md, "Source layout"); each folder is on the quote path.
USER_DIRS := app out probe model books kern sys
USER_CFLAGS = $(OPT) -g -std=gnu11 $(WARN) -D_GNU_SOURCE -iquote $(OUTPUT) -iquote bpf \
	$(addprefix -iquote user/,$(USER_DIRS)) $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CFLAGS)
USER_LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(EXTRA_LIBS) $(LDLIBS)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
ifneq ($(SANITIZE),)
USER_CFLAGS += $(SAN_FLAGS)
LDFLAGS += $(SAN_FLAGS)
endif
CLANG_SYS_INCLUDES = $(shell $(CLANG) -v -E - </dev/null 2>&1 | \
	sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
BPF_CFLAGS = -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_x86 -Wall -Ibpf -I$(dir $(VMLINUX_H)) \
	$(CLANG_SYS_INCLUDES)

# maps.bpf.o, which defines the shared maps, must be linked first: libbpf 1.1's linker
# misplaces an extern map that it meets before the map's definition.
BPF_SRCS := bpf/maps.bpf.c $(filter-out bpf/maps.bpf.c,$(wildcard bpf/*.bpf.c))
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)
USER_SRCS := $(filter-out user/app/main.c,$(wildcard $(addsuffix /*.c,$(addprefix user/,$(USER_DIRS)))))
USER_OBJS := $(patsubst user/%.c,$(OUTPUT)/user/%.o,$(USER_SRCS)) $(OUTPUT)/profile.pb-c.o \
	$(OUTPUT)/report_html.o
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
WORKLOAD_SRCS := $(wildcard tests/workloads/*.c)
WORKLOADS := $(patsubst tests/workloads/%.c,$(OUTPUT)/workloads/%,$(WORKLOAD_SRCS))
FORMAT_SRCS := $(wildcard user/*/*.[ch] bpf/*.[ch] tests/unit/*.c tests/fuzz/*.c)
CLANG_FORMAT ?= clang-format
# Debian packages by set (scripts/install-deps.sh); stamp(set) is made once a set is installed.
stamp = $(OUTPUT)/.deps-$(1)
DEP_STAMPS := $(foreach s,build unit test demo bench format,$(call stamp,$(s)))
DPKG_STATUS := $(wildcard /var/lib/dpkg/status)
# A workload links with its allocator's -dev package, which is in the set of the target that
# asks for it: make demo (demo), make bench (bench), otherwise test.
WORKLOAD_SETS := $(or $(filter demo bench test,$(MAKECMDGOALS)),test)
WORKLOAD_STAMPS := $(foreach s,$(WORKLOAD_SETS),$(call stamp,$(s)))

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all deps check test sanitized fuzz demo bench install clean format format-check \
	vmlinux workloads

# Each goal names its sets, besides the rules that need them: under .SECONDARY a missing
# stamp is an intermediate file, which make creates only for a target it remakes anyway.
all: $(OUTPUT)/arenatrace | $(call stamp,build)

# Every set.
deps:
	$(Q)sh scripts/install-deps.sh

# Checked on every build: a set is queried again (one dpkg query, a fraction of a second)
# whenever dpkg's database has changed since its stamp, so that whatever was removed, even
# after a first successful build, is installed again; otherwise the check costs a stat.
$(DEP_STAMPS): $(OUTPUT)/.deps-%: scripts/install-deps.sh $(DPKG_STATUS)
	$(Q)mkdir -p $(@D)
	$(Q)sh scripts/install-deps.sh $*
	$(Q)touch $@

$(OUTPUT)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(VMLINUX_H) | $(call stamp,build)
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/arenatrace.bpf.o: $(BPF_OBJS)
	$(call msg,LINK-BPF,$@)
	$(Q)$(BPFTOOL) gen object $@ $^

$(OUTPUT)/arenatrace.skel.h: $(OUTPUT)/arenatrace.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name arenatrace_bpf > $@

$(OUTPUT)/user/%.o: user/%.c | $(call stamp,build)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -c $< -o $@

# --pprof's messages (proto/profile.proto), generated with protoc-c into OUTPUT.
$(OUTPUT)/profile.pb-c.c $(OUTPUT)/profile.pb-c.h &: proto/profile.proto | $(call stamp,build)
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(OUTPUT)
	$(Q)protoc-c --proto_path=proto --c_out=$(OUTPUT) $<
$(OUTPUT)/profile.pb-c.o: $(OUTPUT)/profile.pb-c.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(OPT) -g -std=gnu11 -iquote $(OUTPUT) $(shell $(PKG_CONFIG) --cflags libprotobuf-c) \
		$(CFLAGS) -c $< -o $@
$(OUTPUT)/user/out/out_pprof.o: $(OUTPUT)/profile.pb-c.h

# arenatrace report's page (user/app/report.html), compiled in as bytes by xxd -i.
$(OUTPUT)/report_html.c: user/app/report.html | $(call stamp,build)
	$(call msg,XXD,$@)
	$(Q)mkdir -p $(OUTPUT)
	$(Q)xxd -i -n at_report_html $< > $@
$(OUTPUT)/report_html.o: $(OUTPUT)/report_html.c
	$(call msg,CC,$@)
	$(Q)$(CC) $(OPT) $(CFLAGS) -c $< -o $@

# Only the loader (loader.c and maps.c) includes the skeleton: a BPF change rebuilds it alone.
$(OUTPUT)/user/kern/loader.o $(OUTPUT)/user/kern/maps.o: $(OUTPUT)/arenatrace.skel.h

$(OUTPUT)/arenatrace: $(OUTPUT)/user/app/main.o $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(USER_LIBS)

$(OUTPUT)/tests/test_%: tests/unit/test_%.c $(USER_OBJS) | $(call stamp,unit)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(USER_CFLAGS) -MMD -MP -MF $@.d -MT $@ -o $@ $< $(USER_OBJS) $(USER_LIBS) \
		-lcmocka

# Workloads are built at -O0 so that malloc/free pairs are not optimised away.
$(OUTPUT)/workloads/%: tests/workloads/%.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -pthread -o $@ $< \
		$(if $(filter je_% demo,$*),-ljemalloc) $(if $(filter mi_%,$*),-lmimalloc)

# --unwind dwarf's C workload: -O2 without frame pointers, as Debian builds its libraries.
$(OUTPUT)/workloads/stack_nofp: tests/workloads/stack_nofp.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O2 -fomit-frame-pointer -g -Wall -D_GNU_SOURCE -o $@ $<

# --unwind dwarf through code with frame pointers but no call frame information at all
# (no .eh_frame, no DWARF): libdw's x86-64 backend follows the frame pointers there.
$(OUTPUT)/workloads/stack_sites_nocfi: tests/workloads/stack_sites.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O0 -g0 -fno-omit-frame-pointer -fno-asynchronous-unwind-tables \
		-fno-unwind-tables -Wall -D_GNU_SOURCE -o $@.tmp $<
	$(Q)objcopy --remove-section .eh_frame --remove-section .eh_frame_hdr $@.tmp $@
	$(Q)rm -f $@.tmp

# One source, one build per allocator.
HEAP_VARIANTS := $(OUTPUT)/workloads/je_heap_calls $(OUTPUT)/workloads/je_heap_calls_static \
	$(OUTPUT)/workloads/mi_heap_calls
$(OUTPUT)/workloads/je_heap_calls: tests/workloads/heap_calls.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_JEMALLOC -pthread -o $@ $< -ljemalloc
$(OUTPUT)/workloads/je_heap_calls_static: tests/workloads/heap_calls.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_JEMALLOC -pthread -o $@ $< \
		/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a -lpthread -ldl -lm
# je_books linked with Debian's libjemalloc_pic.a: jemalloc's globals are in the executable's
# .symtab (books/jemalloc.c reads them by name there).
$(OUTPUT)/workloads/je_books_static: tests/workloads/je_books.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -pthread -o $@ $< \
		/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a -lpthread -ldl -lm
HEAP_VARIANTS += $(OUTPUT)/workloads/je_books_static
# The same, split as Debian's packages are: stripped, its symbols in a debug file named by
# its .gnu_debuglink, beside it (books/jemalloc.c finds the globals there).
$(OUTPUT)/workloads/je_books_split: $(OUTPUT)/workloads/je_books_static
	$(call msg,SPLIT,$@)
	$(Q)objcopy --only-keep-debug $< $@.debug
	$(Q)objcopy --strip-all --add-gnu-debuglink=$@.debug $< $@
$(OUTPUT)/workloads/mi_heap_calls: tests/workloads/heap_calls.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DUSE_MIMALLOC -pthread -o $@ $< -lmimalloc

$(OUTPUT)/workloads/cxx_new: tests/workloads/cxx_new.cc tests/workloads/truth.h
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O0 -g -Wall -D_GNU_SOURCE -o $@ $<
$(OUTPUT)/workloads/je_cxx_new: tests/workloads/cxx_new.cc tests/workloads/truth.h
	$(call msg,CXX,$@)
	$(Q)$(CXX) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -ljemalloc
HEAP_VARIANTS += $(OUTPUT)/workloads/cxx_new $(OUTPUT)/workloads/je_cxx_new
$(OUTPUT)/workloads/je_bench_malloc: tests/workloads/bench_malloc.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -ljemalloc
$(OUTPUT)/workloads/mi_bench_malloc: tests/workloads/bench_malloc.c tests/workloads/truth.h
	$(call msg,CC,$@)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -o $@ $< -lmimalloc
HEAP_VARIANTS += $(OUTPUT)/workloads/je_bench_malloc $(OUTPUT)/workloads/mi_bench_malloc

# glibc's books read from outside (tests/unit/test_books_glibc.c runs both builds): glibc in
# libc.so.6, and glibc linked into a static executable.
$(OUTPUT)/workloads/glibc_books: tests/workloads/glibc_books.h
$(OUTPUT)/workloads/glibc_books_static: tests/workloads/glibc_books.c tests/workloads/glibc_books.h
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -static -pthread -o $@ $<
HEAP_VARIANTS += $(OUTPUT)/workloads/glibc_books_static

# Rust: bumpalo over Debian's jemalloc (libjemalloc_pic.a, so jemalloc-sys builds nothing),
# with Debian's cargo and crates only (tests/workloads/rust_bump/.cargo/config.toml), in a
# normal release profile and with fat LTO.
RUST_SRCS := $(wildcard tests/workloads/rust_bump/src/*.rs) tests/workloads/rust_bump/Cargo.toml
RUST_ENV := CARGO_HOME=$(OUTPUT)/cargo-home CARGO_TARGET_DIR=$(OUTPUT)/cargo-target \
	JEMALLOC_OVERRIDE=/usr/lib/x86_64-linux-gnu/libjemalloc_pic.a PATH=/usr/bin:/bin
$(OUTPUT)/workloads/rust_bump: $(RUST_SRCS)
	$(call msg,CARGO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/workloads/rust_bump && $(RUST_ENV) /usr/bin/cargo build -q --offline --release
	$(Q)cp $(OUTPUT)/cargo-target/release/rust_bump $@
$(OUTPUT)/workloads/rust_bump_lto: $(RUST_SRCS)
	$(call msg,CARGO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/workloads/rust_bump && $(RUST_ENV) /usr/bin/cargo build -q --offline --profile rel-lto
	$(Q)cp $(OUTPUT)/cargo-target/rel-lto/rust_bump $@
# --unwind dwarf's Rust workload (src/bin/rust_chain.rs), release profile: no frame pointers.
$(OUTPUT)/workloads/rust_chain: $(RUST_SRCS) tests/workloads/rust_bump/src/bin/rust_chain.rs
	$(call msg,CARGO,$@)
	$(Q)mkdir -p $(@D)
	$(Q)cd tests/workloads/rust_bump && $(RUST_ENV) /usr/bin/cargo build -q --offline --release \
		--bin rust_chain
	$(Q)cp $(OUTPUT)/cargo-target/release/rust_chain $@
HEAP_VARIANTS += $(OUTPUT)/workloads/rust_bump $(OUTPUT)/workloads/rust_bump_lto \
	$(OUTPUT)/workloads/rust_chain
HEAP_VARIANTS += $(OUTPUT)/workloads/stack_sites_nocfi

# The books' unit tests read real processes: workloads that allocate with each allocator.
BOOKS_WORKLOADS := $(addprefix $(OUTPUT)/workloads/,mi_books books_mi_preload glibc_books \
	glibc_books_static je_books je_books_static je_books_split)
# The same source as mi_books, without -lmimalloc: run under LD_PRELOAD=libmimalloc.so.2.
$(OUTPUT)/workloads/books_mi_preload: tests/workloads/mi_books.c | $(WORKLOAD_STAMPS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) -O0 -g -Wall -D_GNU_SOURCE -DMI_BOOKS_PRELOAD -pthread -o $@ $<

# Whichever rule builds a workload, the packages of its set come first.
$(WORKLOADS) $(HEAP_VARIANTS): | $(WORKLOAD_STAMPS)
workloads: $(WORKLOADS) $(HEAP_VARIANTS) $(BOOKS_WORKLOADS) | $(WORKLOAD_STAMPS)
# What demo.sh and bench.py run.
DEMO_WORKLOADS := $(OUTPUT)/workloads/demo $(OUTPUT)/workloads/diff_demo
BENCH_WORKLOADS := $(addprefix $(OUTPUT)/workloads/,bench_malloc bench_mmap je_bench_malloc \
	mi_bench_malloc bench_bigheap glibc_books mi_books madvise_storm)

check: $(UNIT_BINS) $(BOOKS_WORKLOADS) | $(call stamp,build) $(call stamp,unit)
	$(Q)python3 scripts/check-layers.py
	$(Q)set -e; for t in $(UNIT_BINS); do $$t; done
	$(Q)promtool check rules docs/fleet/arenatrace-rules.yml
	$(Q)promtool test rules tests/fleet/rules_test.yml
	$(Q)python3 tests/fleet/check_dashboard.py docs/fleet/arenatrace-dashboard.json

# CI runs this: the tree must be formatted as .clang-format says (make format), and (CI=1)
# the unit tests and a fast end-to-end subset run again on a sanitized build, and each fuzz
# target runs a few seconds.
test: format-check check all workloads | $(call stamp,test)
	$(Q)sh tests/run-e2e.sh $(OUTPUT)
	$(Q)$(if $(CI),$(MAKE) --no-print-directory sanitized)
	$(Q)$(if $(CI),$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=5)

# The unit tests and the bad-input and attach suites with AddressSanitizer and UBSan (the
# workloads are the plain build's).
SAN_OUTPUT := $(OUTPUT)$(if $(SANITIZE),,-san)
sanitized: workloads
	$(Q)$(MAKE) --no-print-directory SANITIZE=1 OUTPUT=$(SAN_OUTPUT) check all
	$(Q)AT_ARENATRACE=$(SAN_OUTPUT)/arenatrace sh tests/run-e2e.sh $(OUTPUT) \
		tests/e2e/test_bad_input.py tests/e2e/test_attach.py

demo: all $(DEMO_WORKLOADS) | $(call stamp,demo)
	$(Q)sh scripts/demo.sh $(OUTPUT)

bench: all $(BENCH_WORKLOADS) | $(call stamp,bench)
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
	install -D -m 0644 docs/fleet/arenatrace-rules.yml $(DESTDIR)$(PREFIX)/share/arenatrace/arenatrace-rules.yml
	install -D -m 0644 docs/fleet/arenatrace-dashboard.json $(DESTDIR)$(PREFIX)/share/arenatrace/arenatrace-dashboard.json

# Fuzzing (clang's libFuzzer, AddressSanitizer and UBSan; gcc's build is the warnings gate):
# every user/ object built again with coverage, one binary per tests/fuzz/fuzz_*.c, each run
# FUZZ_SECONDS on its checked-in corpus (tests/fuzz/corpus/NAME; new finds stay in
# $(OUTPUT)/fuzz/corpus). CI runs it briefly.
FUZZ_SECONDS ?= 60
FUZZ_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
FUZZ_OBJS := $(patsubst user/%.c,$(OUTPUT)/fuzz/obj/%.o,$(USER_SRCS)) $(OUTPUT)/profile.pb-c.o \
	$(OUTPUT)/report_html.o
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(OUTPUT)/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(OUTPUT)/fuzz/obj/%.o: user/%.c | $(call stamp,build)
	$(call msg,FUZZ-CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(filter-out -Werror -Wmissing-prototypes,$(USER_CFLAGS)) $(FUZZ_FLAGS) -c $< -o $@
$(OUTPUT)/fuzz/obj/kern/loader.o $(OUTPUT)/fuzz/obj/kern/maps.o: $(OUTPUT)/arenatrace.skel.h
$(OUTPUT)/fuzz/obj/out/out_pprof.o: $(OUTPUT)/profile.pb-c.h
$(OUTPUT)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(filter-out -Werror -Wmissing-prototypes,$(USER_CFLAGS)) -iquote user/books \
		-fsanitize=fuzzer,address,undefined -o $@ $< $(FUZZ_OBJS) $(USER_LIBS)
fuzz: $(FUZZ_BINS)
	$(Q)set -e; for b in $(FUZZ_BINS); do n=$$(basename $$b); n=$${n#fuzz_}; \
		mkdir -p $(OUTPUT)/fuzz/corpus/$$n; \
		echo "  FUZZ     $$n ($(FUZZ_SECONDS) s)"; \
		ASAN_OPTIONS=fast_unwind_on_malloc=0 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/fuzz/lsan.supp \
		$$b -max_total_time=$(FUZZ_SECONDS) -rss_limit_mb=1024 -print_final_stats=0 \
			-artifact_prefix=$(OUTPUT)/fuzz/$$n- \
			$(OUTPUT)/fuzz/corpus/$$n tests/fuzz/corpus/$$n 2>$(OUTPUT)/fuzz/$$n.log || \
			{ tail -40 $(OUTPUT)/fuzz/$$n.log; exit 1; }; done

clean:
	rm -rf $(OUTPUT)

# .clang-format; format-check lists the files that format would change and fails if any.
format: | $(call stamp,format)
	$(Q)$(CLANG_FORMAT) --style=file -i $(FORMAT_SRCS)

format-check: | $(call stamp,format)
	$(Q)bad=; for f in $(FORMAT_SRCS); do \
		$(CLANG_FORMAT) --style=file "$$f" | cmp -s - "$$f" || bad="$$bad $$f"; \
	done; \
	[ -z "$$bad" ] || { echo "format-check: not formatted (make format rewrites them):" >&2; \
		printf '  %s\n' $$bad >&2; exit 1; }

vmlinux: | $(call stamp,build)
	$(Q)mkdir -p $(VMLINUX_DIR)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_DIR)/vmlinux.h

-include $(wildcard $(OUTPUT)/user/*/*.d $(OUTPUT)/tests/*.d)
