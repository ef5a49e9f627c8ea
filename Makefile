# SPDX-License-Identifier: GPL-2.0
#
# mempager: make            build mempager.ko against KDIR
#           make run        the demo in the test VM (installs what it needs)
#           make cluster-demo   two VMs share memory through mempager-dsm
#                               and a Redis Cluster (Documentation/cluster.rst)
#           make check      every test, both VM lanes (installs what it needs)
#           make coverage   HTML line coverage of kmod/ from the last debug lane
#           make soak       fuzzer and stress test for a long time (debug lane)
#           make lint       checkpatch --strict, sparse and kernel-doc
#           make install    module, header, library, tools, udev rule
#           make dkms-install, make dkms-remove    the module under DKMS
#
# KDIR defaults to the running kernel's build tree, else the project's
# debug test kernel (built by scripts/build-test-kernel.sh); with only KVER
# given, to /lib/modules/$(KVER)/build. See Documentation/install.rst.

ifneq ($(origin KVER),undefined)
KDIR ?= /lib/modules/$(KVER)/build
endif
RUNNING_KDIR := /lib/modules/$(shell uname -r)/build
KDIR ?= $(if $(wildcard $(RUNNING_KDIR)),$(RUNNING_KDIR),$(shell scripts/build-test-kernel.sh))

all: module

module:
	$(MAKE) -C $(KDIR) M=$(CURDIR) modules

selftests:
	$(MAKE) -C selftests HARNESS_DIR=$$(scripts/unpack-source.sh)/tools/testing/selftests

check:
	scripts/check.sh

run:
	scripts/run.sh

# The line coverage of the last debug lane run (make check, or
# scripts/vm-run.sh debug ...): table, largest blocks never run, and
# genhtml's report in build/coverage/html/.
coverage:
	scripts/install-deps.sh
	scripts/coverage.py --blocks 20 --html $(CURDIR)/build/coverage/html

soak:
	scripts/soak.sh

lint:
	scripts/lint.sh

bench:
	scripts/bench.sh

cluster-demo:
	scripts/cluster-demo.sh

cluster-test:
	scripts/cluster-test.sh

cluster-bench:
	scripts/cluster-bench.sh

# make install: DESTDIR (staging root) and PREFIX (default /usr) honoured.
# The module goes to /lib/modules/$(KVER)/extra (KVER: the release of KDIR),
# so that `modprobe mempager` finds it once depmod has run (only when
# DESTDIR is empty). Everything is built afresh under build/install/.
PREFIX ?= /usr
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
UDEVRULESDIR ?= /lib/udev/rules.d
# The release of KDIR, read once and only when needed.
KVER ?= $(eval KVER := $(shell cat $(KDIR)/include/config/kernel.release 2>/dev/null))$(KVER)
SBIN_PATH := PATH=$$PATH:/sbin:/usr/sbin
INSTALL_BUILD := $(CURDIR)/build/install
MODBUILD = $(INSTALL_BUILD)/mod-$(KVER)

# The version of the package: PACKAGE_VERSION in dkms.conf, its one place.
MEMPAGER_VERSION := $(shell sed -n 's/^PACKAGE_VERSION="*\([^"]*\)"*$$/\1/p' $(CURDIR)/dkms.conf)
# What the module build needs (not the KUnit suites: never built outside
# the test kernel).
MODULE_SOURCES := Kbuild uapi/linux/mempager.h \
	$(filter-out kmod/kunit_%,$(sort $(wildcard kmod/*.c kmod/*.h)))
DKMS_SOURCE_TREE ?= /usr/src
DKMS_DIR = $(DKMS_SOURCE_TREE)/mempager-$(MEMPAGER_VERSION)
DKMS_MV = -m mempager -v $(MEMPAGER_VERSION)
# DKMS_KVER=<release>: build and install for that kernel, not the running one.
DKMS_K = $(if $(DKMS_KVER),-k $(DKMS_KVER))

install: install-module install-lib install-tools install-udev

install-module:
	@[ -n "$(KVER)" ] || { echo "install: no kernel release in $(KDIR)/include/config/kernel.release; set KDIR" >&2; exit 1; }
	rm -rf $(MODBUILD)
	mkdir -p $(MODBUILD)
	cp --parents $(MODULE_SOURCES) $(MODBUILD)/
	$(MAKE) -C $(KDIR) M=$(MODBUILD) CONFIG_KUNIT= modules
	@v=$$($(SBIN_PATH) modinfo -F vermagic $(MODBUILD)/mempager.ko | cut -d' ' -f1); \
	[ "$$v" = "$(KVER)" ] || { echo "install: mempager.ko is built for $$v, not KVER=$(KVER)" >&2; exit 1; }
	install -D -m 644 $(MODBUILD)/mempager.ko $(DESTDIR)/lib/modules/$(KVER)/extra/mempager.ko
	$(if $(DESTDIR),,$(SBIN_PATH) depmod -a $(KVER))

# The library, its pkg-config file and man pages, and the uapi header.
install-lib:
	rm -rf $(INSTALL_BUILD)/lib
	$(MAKE) -C lib install OUT=$(INSTALL_BUILD)/lib PREFIX=$(PREFIX) DESTDIR=$(DESTDIR)
	$(if $(DESTDIR),,$(SBIN_PATH) ldconfig)

# Every tool tools/Makefile builds whose name starts with mempager, and
# their section 1 man pages.
install-tools:
	rm -rf $(INSTALL_BUILD)/tools
	$(MAKE) -C tools OUT=$(INSTALL_BUILD)/tools LIBOUT=$(INSTALL_BUILD)/tools/lib
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	install -m 755 $(INSTALL_BUILD)/tools/mempager* $(DESTDIR)$(BINDIR)/
	install -m 644 Documentation/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1/

install-udev:
	install -D -m 644 udev/60-mempager.rules $(DESTDIR)$(UDEVRULESDIR)/60-mempager.rules

# The module sources as DKMS wants them, in $(DKMS_DIR).
dkms-source:
	rm -rf $(DKMS_DIR)
	mkdir -p $(DKMS_DIR)
	cp --parents dkms.conf $(MODULE_SOURCES) $(DKMS_DIR)/

# As root: (re)register this version with DKMS, build and install it for
# the running kernel (or DKMS_KVER); DKMS rebuilds it for new kernels.
dkms-install:
	@command -v dkms >/dev/null || { echo "dkms-install: dkms is not installed (apt-get install dkms)" >&2; exit 1; }
	$(MAKE) --no-print-directory dkms-remove
	$(MAKE) --no-print-directory dkms-source
	dkms add $(DKMS_MV)
	dkms build $(DKMS_MV) $(DKMS_K)
	dkms install $(DKMS_MV) $(DKMS_K)

dkms-remove:
	if command -v dkms >/dev/null && [ -n "$$(dkms status $(DKMS_MV))" ]; then \
		dkms remove $(DKMS_MV) --all; fi
	rm -rf $(DKMS_DIR)

# Without kbuild: KDIR may not exist here (it could mean building a kernel).
clean:
	rm -rf build .tmp_versions Module.symvers modules.order
	find . \( -name '*.o' -o -name '*.ko' -o -name '*.mod' -o -name '*.mod.c' \
		-o -name '.*.cmd' -o -name '*.a' \) -not -path './.git/*' -delete

.PHONY: all module selftests check run lint clean bench coverage soak \
	cluster-demo cluster-test cluster-bench \
	install install-module install-lib install-tools install-udev \
	dkms-source dkms-install dkms-remove
