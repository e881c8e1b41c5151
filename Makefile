# Bulkhead: build, boot and test.
#
#   make run     install what is missing, build, make the ISO, boot it in QEMU
#   make test    host unit tests, then the in-kernel suite booted in QEMU
#   make help    everything else
#
# Kernel command line for `make run`: make run CMDLINE="loglevel=debug"

SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= $(shell command -v cargo 2>/dev/null || echo /usr/bin/cargo)
OUT := target/bulkhead
RUNNER := target/release/bulkhead-runner
CMDLINE ?= loglevel=info
TEST_CMDLINE ?= loglevel=info
MEMORY ?= 384M
TIMEOUT ?= 180
LOADER ?= auto
# Limine binaries: LIMINE_DIR, or a git-ignored .limine/ in the checkout.
LIMINE_DIR ?= $(if $(wildcard .limine/limine-bios.sys),$(CURDIR)/.limine,)
export LIMINE_DIR

KERNEL_SOURCES := $(shell find kernel crates -name '*.rs' -o -name '*.toml' -o -name '*.ld' 2>/dev/null) Cargo.toml Cargo.lock
USER_SOURCES := $(shell find user servers crates -name '*.rs' -o -name '*.toml' -o -name '*.ld' 2>/dev/null) Cargo.toml Cargo.lock
USER_PROGRAMS := $(OUT)/root.elf $(OUT)/usertests.elf $(OUT)/linuxsrv.elf
# The containers' Linux programs (C, musl) packed into one cpio archive
# per container, and the manifests naming them (scripts/linux-build.sh).
LINUX_SOURCES := $(shell find user/linux -type f 2>/dev/null) scripts/linux-build.sh
CONTAINER_FILES := $(OUT)/test.manifest $(OUT)/full-test.manifest $(OUT)/small.manifest $(OUT)/demo.manifest \
  $(OUT)/alpha-files.cpio $(OUT)/beta-files.cpio $(OUT)/crashy-files.cpio
ARCHIVES := $(OUT)/alpha-files.cpio:alpha-files $(OUT)/beta-files.cpio:beta-files \
  $(OUT)/crashy-files.cpio:crashy-files
# Boot modules: the root server, the user-land test suite it starts, and
# the containers it starts afterwards (their syscall server, manifest and
# file archives). `make run` boots the demo manifest, the tests the test one.
BASE_MODULES := $(OUT)/root.elf:root $(OUT)/usertests.elf:usertests
MODULES := $(BASE_MODULES) $(OUT)/linuxsrv.elf:linuxsrv $(OUT)/test.manifest:manifest $(ARCHIVES)
# The main test run also injects faults into containers (robust.manifest);
# small machines run each container in one mode only (small.manifest).
FULL_MODULES := $(BASE_MODULES) $(OUT)/linuxsrv.elf:linuxsrv $(OUT)/full-test.manifest:manifest $(ARCHIVES)
SMALL_MODULES := $(BASE_MODULES) $(OUT)/linuxsrv.elf:linuxsrv $(OUT)/small.manifest:manifest $(ARCHIVES)
RUN_MODULES := $(BASE_MODULES) $(OUT)/linuxsrv.elf:linuxsrv $(OUT)/demo.manifest:manifest $(ARCHIVES)
USER_FLAGS := -C relocation-model=static -C force-frame-pointers=yes

.PHONY: help deps kernel kernel-test user linux iso iso-test run test test-host test-kernel test-console test-bochs bench bench-bochs \
        test-fuzz fuzz \
        test-kernel-limine test-boot-variants test-harness runner lint gdb clean check-build-std

help:
	@echo "Bulkhead targets:"
	@echo "  make run                 build, make the ISO, boot it in QEMU (quit: Ctrl-A X)"
	@echo "  make test                host unit tests, kernel and user-land suites in QEMU (GRUB, Limine if LIMINE_DIR) and Bochs"
	@echo "  make test-console        the console of make run, driven by root.script (~15 s)"
	@echo "  make test-bochs          the suites under Bochs on a CPU with PCID and INVPCID (~30 s)"
	@echo "  make deps                install missing packages (apt) or say what to install"
	@echo "  make iso                 target/bulkhead/bulkhead.iso (Limine if LIMINE_DIR is set, else GRUB)"
	@echo "  make fuzz                1,000,000 random system calls (FUZZ_COUNT, FUZZ_SEED), then the kernel self-check"
	@echo "  make bench               benchmarks in QEMU (TCG + icount: instructions); target/bench/results.json"
	@echo "  make bench-bochs         benchmarks under Bochs with PCID (emulator figures); target/bench/results-bochs.json"
	@echo "  make gdb                 boot paused with a gdb stub and attach gdb with the kernel's symbols"
	@echo "  make lint                cargo fmt --check and clippy (host crates and kernel)"
	@echo "  make check-build-std     build the kernel with Debian's Rust and -Zbuild-std"
	@echo "Variables: CMDLINE=... MEMORY=$(MEMORY) LOADER=auto|grub|limine LIMINE_DIR=... BULKHEAD_TOOLCHAIN=prebuilt|build-std"

deps:
	@scripts/deps.sh

$(OUT)/bulkhead.elf: $(KERNEL_SOURCES) | deps
	@scripts/kernel-build.sh $@ exploit-demos

$(OUT)/bulkhead-test.elf: $(KERNEL_SOURCES) | deps
	@scripts/kernel-build.sh $@ test-suite

kernel: $(OUT)/bulkhead.elf
kernel-test: $(OUT)/bulkhead-test.elf

$(USER_PROGRAMS) &: $(USER_SOURCES) | deps
	@scripts/user-build.sh $(OUT)

user: $(USER_PROGRAMS)

$(CONTAINER_FILES) &: $(LINUX_SOURCES) | deps
	@scripts/linux-build.sh $(OUT)

linux: $(CONTAINER_FILES)

$(RUNNER): $(shell find tools/runner -name '*.rs' -o -name '*.toml') | deps
	@$(CARGO) build -q --release -p bulkhead-runner

runner: $(RUNNER)

iso: $(OUT)/bulkhead.elf $(USER_PROGRAMS) $(CONTAINER_FILES)
	@scripts/mkiso.sh $< $(OUT)/bulkhead.iso "$(CMDLINE)" $(LOADER) $(RUN_MODULES)

run: iso $(RUNNER)
	@$(RUNNER) run --iso $(OUT)/bulkhead.iso --memory $(MEMORY)

test: deps
	@rm -f $(OUT)/test-*.log $(OUT)/harness-*.log
	@$(MAKE) --no-print-directory test-host
	@$(MAKE) --no-print-directory test-kernel
	@$(MAKE) --no-print-directory test-console
	@$(MAKE) --no-print-directory test-boot-variants
	@$(MAKE) --no-print-directory test-harness
	@if [ -n "$${LIMINE_DIR:-}" ]; then $(MAKE) --no-print-directory test-kernel-limine; \
	 else echo "test: LIMINE_DIR not set: the Limine boot path was not tested (GRUB only)"; fi
	@$(MAKE) --no-print-directory test-bochs
	@$(MAKE) --no-print-directory test-fuzz
	@scripts/test-summary.sh $(OUT)

test-host: | deps
	@mkdir -p $(OUT)
	@echo "== host unit tests"
	@if ! $(CARGO) test -q > $(OUT)/host-tests.log 2>&1; then \
	  cat $(OUT)/host-tests.log; echo "test: host unit tests failed"; exit 1; fi
	@grep -E '^test result' $(OUT)/host-tests.log | grep -v ' 0 passed; 0 failed' || true

# boot_test NAME ISO-CMDLINE LOADER [RUNNER ARGS] [MODULES]: build an ISO and
# judge a boot.
define boot_test
	@scripts/mkiso.sh $(OUT)/bulkhead-test.elf $(OUT)/$(1).iso "$(2)" $(3) $(5) >/dev/null
	@echo "== $(1): $(3) ISO, cmdline '$(2)'"
	@$(RUNNER) test --iso $(OUT)/$(1).iso --timeout $(TIMEOUT) --log $(OUT)/$(1).log $(4)
endef

test-kernel: $(OUT)/bulkhead-test.elf $(USER_PROGRAMS) $(CONTAINER_FILES) $(RUNNER)
	@mkdir -p $(OUT)
	$(call boot_test,test-grub,$(TEST_CMDLINE),grub,--memory $(MEMORY),$(FULL_MODULES))
	@grep -q "root: manifest line .*: unknown mode 'fast'.*container 'broken' skipped" $(OUT)/test-grub.log || \
	  { echo "test: the manifest's bad container was not reported and skipped"; exit 1; }
	@for c in exploit-sci exploit-sci-sci-sticky; do \
	  grep -q "sci: container $$c: thread .* stopped: jump into the middle of sci_demo_gadget+0x10" $(OUT)/test-grub.log || \
	  { echo "test: SCI did not report the jump into sci_demo_gadget+0x10 in container $$c"; exit 1; }; done

# The console `make run` ends in, driven by root.script (`,` is a space,
# `;` ends a command) on the make-run kernel and modules: a mistyped
# command and an unknown container must get their answers, a program run
# in a fresh instance must print its output and end, stats must show that
# instance, and `exit` must end the run cleanly (status 33, nothing leaked).
CONSOLE_SCRIPT := help;lst;list;stats;run,gamma,/bin/hello;run,alpha,/bin/hello;stats,alpha;exploit;exit
test-console: $(OUT)/bulkhead.elf $(USER_PROGRAMS) $(CONTAINER_FILES) $(RUNNER)
	@mkdir -p $(OUT)
	@scripts/mkiso.sh $(OUT)/bulkhead.elf $(OUT)/test-console.iso "loglevel=warn root.script='$(CONSOLE_SCRIPT)'" \
	  grub $(RUN_MODULES) >/dev/null
	@echo "== test-console: grub ISO, the console driven by root.script='$(CONSOLE_SCRIPT)'"
	@$(RUNNER) test --iso $(OUT)/test-console.iso --timeout 120 --log $(OUT)/test-console.log --memory $(MEMORY) | tail -1
	@log=$(OUT)/test-console.log; fail() { echo "test-console: $$1"; exit 1; }; \
	  grep -qE '^  exploit +/bin/exploit' $$log || fail "help did not list the commands"; \
	  grep -qF "unknown command 'lst'; did you mean 'list'? type 'help'" $$log || fail "no suggestion for 'lst'"; \
	  grep -qE '^    [0-9]+ +container +all ' $$log || fail "list did not show the servers' capabilities"; \
	  grep -qE '^  alpha +ipc +0 +[1-9][0-9]* ' $$log || fail "stats did not count the ended programs' syscalls in ipc"; \
	  grep -qF "no container 'gamma'; containers: alpha, alpha-direct, alpha-sci, beta" $$log || \
	    fail "the unknown container was not answered with the list"; \
	  sed -n '/^bulkhead> run alpha \/bin\/hello$$/,$$p' $$log | grep -qF '[alpha] hello from /bin/hello' || \
	    fail "run alpha /bin/hello printed no output"; \
	  grep -qE '^console: /bin/hello in alpha #[0-9]+ exited with status 0' $$log || fail "run did not say how hello ended"; \
	  sed -n '/^bulkhead> stats alpha$$/,$$p' $$log | grep -qE '^  alpha #[0-9]+ +ipc +0 +[1-9]' || \
	    fail "stats alpha did not show the console's instance with its syscalls"; \
	  grep -qE '^  direct jump: exit 0: the gadget ran' $$log || fail "exploit: the gadget did not run in direct mode"; \
	  grep -qE '^sci: container exploit-sci: thread .* jump into the middle of sci_demo_gadget\+0x10' $$log || \
	    fail "exploit: SCI did not stop the jump naming the symbol"; \
	  grep -qE '^  ipc +jump: signal 9' $$log || fail "exploit: the ipc server's crash was not contained"; \
	  grep -q '^bulkhead: exit code 0x10' $$log || fail "exit did not end the run with success"

test-kernel-limine: $(OUT)/bulkhead-test.elf $(USER_PROGRAMS) $(CONTAINER_FILES) $(RUNNER)
	$(call boot_test,test-limine,$(TEST_CMDLINE),limine,--memory $(MEMORY),$(MODULES))

# The same suite on a small machine and on a fragmented memory map; an
# unknown command-line option must be reported.
test-boot-variants: $(OUT)/bulkhead-test.elf $(USER_PROGRAMS) $(CONTAINER_FILES) $(RUNNER)
	$(call boot_test,test-64m,loglevel=warn no_such_option=1,grub,--memory 64M,$(SMALL_MODULES))
	@grep -q "unknown kernel command-line option 'no_such_option=1'" $(OUT)/test-64m.log || \
	  { echo "test: the unknown option was not reported"; exit 1; }
	$(call boot_test,test-fragmented,loglevel=warn mem.punch=240,grub,--memory 96M,$(SMALL_MODULES))

# The harness must turn every kind of failure red: each run below fails on
# purpose, and the runner passes only if it failed for exactly that reason.
test-harness: $(OUT)/bulkhead-test.elf $(RUNNER)
	$(call boot_test,harness-fail,test=harness test.inject=fail,grub,--expect-failure failed-test)
	$(call boot_test,harness-panic,test=harness test.inject=panic,grub,--expect-failure panic)
	$(call boot_test,harness-exception,test=harness test.inject=exception,grub,--expect-failure exception)
	$(call boot_test,harness-triple,test=harness test.inject=triple_fault,grub,--expect-failure triple-fault)
	@scripts/mkiso.sh $(OUT)/bulkhead-test.elf $(OUT)/harness-hang.iso "test=harness test.inject=hang" grub >/dev/null
	@echo "== harness-hang: must time out"
	@$(RUNNER) test --iso $(OUT)/harness-hang.iso --timeout 20 --log $(OUT)/harness-hang.log --expect-failure timeout
	$(call boot_test,harness-nopcid,loglevel=warn test=harness,grub,--require-pcid --expect-failure no-pcid)

# The syscall fuzzer: a short deterministic run in `make test` (the
# partner thread off, so the seed replays exactly); `make fuzz` runs the
# full budget (FUZZ_COUNT calls from FUZZ_SEED).
FUZZ_COUNT ?= 1000000
FUZZ_SEED ?= 1
test-fuzz: | deps
	@echo "== test-fuzz: 20000 random system calls, seed 1"
	@FUZZ_LOG=$(OUT)/test-fuzz.log FUZZ_CMDLINE="user.fuzz.partner=0" scripts/fuzz.sh 20000 1

fuzz: | deps
	@scripts/fuzz.sh $(FUZZ_COUNT) $(FUZZ_SEED)

# Benchmarks: QEMU TCG with -icount (figures are instructions, deterministic);
# BENCH_ACCEL=kvm reports real cycles where KVM works.
BENCH_ACCEL ?= tcg
bench: | deps
	@scripts/bench.sh $(BENCH_ACCEL)

# Benchmarks under Bochs 2.7 (corei7_haswell_4770: PCID, INVPCID): figures are
# emulated instructions, labelled as emulator figures; target/bench/results-bochs.json.
bench-bochs: | deps
	@scripts/bench.sh bochs

# The suite under Bochs 2.7 on a CPU with PCID and INVPCID (QEMU's TCG has
# neither); fails unless the banner says 'PCID yes' and 'INVPCID yes'.
# The second run hands out only two PCIDs, so address spaces share them and
# every reuse must flush.
test-bochs: | deps
	@scripts/test-bochs.sh
	@BOCHS_NAME=test-bochs-pcid2 BOCHS_CMDLINE="loglevel=warn pcid.limit=2" scripts/test-bochs.sh

lint: | deps
	$(CARGO) fmt --all --check
	$(CARGO) clippy -q --all-targets -- -D warnings
	@if scripts/kernel-build.sh --probe-prebuilt 2>/dev/null; then \
	  $(CARGO) clippy -q -p bulkhead-kernel --release --target x86_64-unknown-none --target-dir target/kernel-prebuilt -- -D warnings; \
	  $(CARGO) clippy -q -p bulkhead-kernel --release --target x86_64-unknown-none --target-dir target/kernel-prebuilt --features test-suite -- -D warnings; \
	  $(CARGO) clippy -q -p bulkhead-kernel --release --target x86_64-unknown-none --target-dir target/kernel-prebuilt --features bench -- -D warnings; \
	  RUSTFLAGS="$(USER_FLAGS)" $(CARGO) clippy -q -p bulkhead-root -p bulkhead-usertests -p bulkhead-bench -p bulkhead-fuzz -p bulkhead-linux-server -p bulkhead-rt --release --target x86_64-unknown-none --target-dir target/user-prebuilt -- -D warnings; \
	else echo "lint: kernel clippy skipped (no prebuilt x86_64-unknown-none target)"; fi

check-build-std: $(RUNNER)
	@BULKHEAD_TOOLCHAIN=build-std scripts/deps.sh
	@BULKHEAD_TOOLCHAIN=build-std scripts/kernel-build.sh $(OUT)/build-std/bulkhead.elf test-suite
	@BULKHEAD_TOOLCHAIN=build-std scripts/user-build.sh $(OUT)/build-std
	@scripts/mkiso.sh $(OUT)/build-std/bulkhead.elf $(OUT)/build-std.iso "loglevel=warn" grub \
	  $(OUT)/build-std/root.elf:root $(OUT)/build-std/usertests.elf:usertests >/dev/null
	@$(RUNNER) test --iso $(OUT)/build-std.iso --timeout $(TIMEOUT) --log $(OUT)/build-std.log | tail -1

gdb: $(OUT)/bulkhead.elf $(USER_PROGRAMS) $(CONTAINER_FILES)
	@scripts/mkiso.sh $(OUT)/bulkhead.elf $(OUT)/bulkhead.iso "$(CMDLINE)" $(LOADER) $(RUN_MODULES)
	@echo "gdb: QEMU waits on :1234; in another terminal gdb attaches with the kernel's symbols"
	@qemu-system-x86_64 -machine q35 -cpu max -m $(MEMORY) -serial stdio -display none -no-reboot \
	  -device isa-debug-exit,iobase=0xf4,iosize=0x04 -cdrom $(OUT)/bulkhead.iso -s -S & \
	  qemu=$$!; gdb -q $(OUT)/bulkhead.elf -ex 'target remote :1234' -ex 'break kernel_main'; kill $$qemu 2>/dev/null || true

clean:
	$(CARGO) clean
