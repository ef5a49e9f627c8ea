# SPDX-License-Identifier: GPL-2.0
#
# mempager: make            build mempager.ko against KDIR
#           make run        the demo in the test VM (installs what it needs)
#           make check      every test, both VM lanes (installs what it needs)
#           make lint       checkpatch --strict, sparse and kernel-doc
#
# KDIR defaults to the running kernel's build tree, else the project's
# debug test kernel (built by scripts/build-test-kernel.sh).

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

lint:
	scripts/lint.sh

clean:
	$(MAKE) -C $(KDIR) M=$(CURDIR) clean 2>/dev/null || true
	rm -rf build

.PHONY: all module selftests check run lint clean
