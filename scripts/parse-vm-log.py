#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Read a test VM's serial log and turn it into test results.

Counted as tests: module load and unload, every KUnit case, every
kselftest-harness case, each test program's exit status, the VM reaching
its end, kmemleak finding no leak, and the kernel log holding no splat.

usage: parse-vm-log.py LANE LOG SUMMARY_FILE
"""
import re
import sys

SPLATS = re.compile(r"BUG:|WARNING:|KASAN|possible circular locking|"
                    r"possible recursive locking|inconsistent lock state|"
                    r"Kernel panic|Oops|general protection fault|"
                    r"unreferenced object|INFO: task .* blocked|"
                    r"suspicious RCU usage|RIP: 0010:")
CASE = re.compile(r"^(not ok|ok) \d+ (.*?)(\s+#\s*(SKIP|skip).*)?$")


def main():
    lane, logname, summary = sys.argv[1:4]
    with open(logname, errors="replace") as f:
        lines = [l.rstrip("\r\n").replace("\r", "") for l in f]

    results = []  # (status, name, detail): status is ok / not ok / skip

    def add(status, name, detail=""):
        results.append((status, f"{lane}: {name}", detail))

    section = None      # ("kunit", suite) / ("test", prog) / kmemleak / dmesg
    seen_cases = False
    done = False
    kmemleak = True
    splats = []
    leaks = []
    host_exit = None   # how QEMU ended, when not on its own with status 0
    for line in lines:
        # The coverage data (base64, see scripts/coverage.py) is no output.
        if section == "gcov" and not line.startswith("@@MP gcov-end"):
            continue
        if line.startswith("@@HOST qemu-exit "):
            host_exit = line[len("@@HOST qemu-exit "):]
            continue
        if SPLATS.search(line) and not line.startswith("@@MP"):
            splats.append(line)
        m = re.match(r"^@@MP (\S+) ?(.*)$", line)
        if m:
            word, rest = m.groups()
            if word in ("ok", "not-ok"):
                add("ok" if word == "ok" else "not ok", rest)
            elif word == "kunit-begin":
                section, seen_cases = ("kunit", rest), False
            elif word == "kunit-end":
                if not seen_cases:
                    add("not ok", f"kunit {rest}", "no test case ran")
                section = None
            elif word == "test-begin":
                section, seen_cases = ("test", rest), False
            elif word == "test-end":
                prog, rc = rest.split(" rc=")
                if rc != "0" or not seen_cases:
                    add("not ok", f"{prog} exit status",
                        f"rc={rc}" + ("" if seen_cases else ", no test case"))
                section = None
            elif word == "demo-begin":
                section = "demo"
            elif word == "demo-end":
                rc = rest.split("rc=")[1]
                add("ok" if rc == "0" else "not ok", "demo exit status",
                    f"rc={rc}")
                section = None
            elif word in ("kmemleak-begin", "dmesg-begin", "gcov-begin"):
                section = word[:-len("-begin")]
            elif word in ("kmemleak-end", "dmesg-end", "gcov-end"):
                section = None
            elif word == "kmemleak-unavailable":
                kmemleak = False
            elif word == "done":
                done = True
            continue
        if section == "kmemleak" and "unreferenced object" in line:
            leaks.append(line)
        if isinstance(section, tuple):
            kind, owner = section
            text = line.strip() if kind == "kunit" else line
            if kind == "kunit" and not line.startswith(("    ", "\t")):
                continue  # the suite line; its cases are counted
            cm = CASE.match(text)
            if cm:
                seen_cases = True
                status = cm.group(1)
                if cm.group(3):
                    status = "skip"
                add(status, f"{owner}: {cm.group(2)}")

    if section is not None and isinstance(section, tuple):
        add("not ok", f"{section[1]} completed", "the VM stopped inside it")
    add("ok" if done else "not ok", "vm reached the end of its tests")
    # A VM killed from the host prints nothing: say so.
    add("not ok" if host_exit else "ok", "qemu exited by itself",
        f"qemu-exit {host_exit}" if host_exit else "")
    if kmemleak:
        add("not ok" if leaks else "ok", "kmemleak: no leaks",
            f"{len(leaks)} leaks" if leaks else "")
    else:
        add("skip", "kmemleak: no leaks", "this kernel has no kmemleak")
    add("not ok" if splats else "ok", "kernel log: no splat",
        "; ".join(splats[:5]))

    passed = failed = skipped = 0
    for status, name, detail in results:
        print(f"{status} - {name}" + (f" ({detail})" if detail else ""))
        if status == "ok":
            passed += 1
        elif status == "skip":
            skipped += 1
        else:
            failed += 1
    if splats:
        print(f"{lane}: kernel splat lines (see {logname}):")
        for s in splats[:40]:
            print("    " + s)
    with open(summary, "w") as f:
        f.write(f"{passed} {failed} {skipped}\n")
    print(f"{lane}: {passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
