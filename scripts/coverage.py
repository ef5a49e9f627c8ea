#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Line coverage of kmod/*.c from a test VM run.

The debug lane's module is built with GCOV_PROFILE (scripts/build-module.sh,
Kbuild). After `rmmod mempager` the guest prints its .gcda files from
/sys/kernel/debug/gcov, tar+gzip+base64, between "@@MP gcov-begin" and
"@@MP gcov-end" (scripts/guest-init.sh). This script decodes them into
build/coverage/LANE/ beside the module's .gcno files (build/mod-LANE), runs
gcov on every kmod/*.c of the module (not the KUnit suites) and prints a
table: file, lines, covered, percent, and the total.

usage: coverage.py [--lane LANE] [--blocks N] [--html DIR]
  --lane    the lane whose log and module build are read (default debug)
  --blocks  also list the N largest blocks of lines never run
  --html    also write an lcov tracefile and genhtml's HTML report in DIR

Exits 1 (and says why) when the log has no coverage data or the data does
not belong to the module in build/mod-LANE (rebuilt since the run).
"""
import argparse
import base64
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BASE64 = re.compile(r"^[A-Za-z0-9+/=]+$")


def fail(msg):
    print(f"coverage: {msg}", file=sys.stderr)
    sys.exit(1)


def gcov_data(log):
    """The tar.gz the guest printed, or None."""
    inside, chunks = False, []
    with open(log, errors="replace") as f:
        for line in f:
            line = line.rstrip("\r\n").replace("\r", "")
            if line.startswith("@@MP gcov-begin"):
                inside, chunks = True, []
            elif line.startswith("@@MP gcov-end"):
                inside = False
                if chunks:
                    return base64.b64decode("".join(chunks))
            elif inside and BASE64.match(line):
                chunks.append(line)  # kernel messages in between are dropped
    return None


def unpack(data, mod, work):
    """Put each kmod/*.gcda of the module beside a copy of its .gcno."""
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(os.path.join(work, "kmod"))
    found = 0
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for m in tar.getmembers():
            # The guest path is the host path of the module's build dir.
            path = "/" + os.path.normpath(m.name).lstrip("./")
            if not m.isfile() or os.path.realpath(os.path.dirname(path)) != \
                    os.path.realpath(os.path.join(mod, "kmod")):
                continue
            with open(os.path.join(work, "kmod", os.path.basename(path)), "wb") as out:
                out.write(tar.extractfile(m).read())
            found += 1
    return found


def sources(mod):
    """The measured sources: kmod/*.c of the module, KUnit suites left out."""
    names = sorted(n for n in os.listdir(os.path.join(mod, "kmod"))
                   if n.endswith(".c") and not n.startswith("kunit_"))
    return [n[:-2] for n in names]


def run_gcov(work, mod, stem):
    """{line: count}, {line: function} and [(name, start, count)] of kmod/STEM.c."""
    gcno = os.path.join(mod, "kmod", stem + ".gcno")
    if not os.path.exists(gcno):
        fail(f"{gcno} missing: was build/mod-... built with coverage "
             "(scripts/build-module.sh, MEMPAGER_GCOV)?")
    shutil.copy(gcno, os.path.join(work, "kmod"))
    gcda = os.path.join(work, "kmod", stem + ".gcda")
    if not os.path.exists(gcda):
        fail(f"no kmod/{stem}.gcda in the guest's data")
    p = subprocess.run(["gcov", "--json-format", "--stdout", gcda],
                       cwd=work, capture_output=True, text=True)
    if p.returncode or "stamp mismatch" in p.stderr or "version" in p.stderr:
        fail(f"gcov {gcda}: {p.stderr.strip()} (module rebuilt since the run?)")
    lines, owner, funcs = {}, {}, []
    want = os.path.realpath(os.path.join(mod, "kmod", stem + ".c"))
    for doc in p.stdout.splitlines():
        if not doc.strip():
            continue
        d = json.loads(doc)
        cwd = d.get("current_working_directory", "")
        for f in d["files"]:
            if os.path.realpath(os.path.join(cwd, f["file"])) != want:
                continue
            for ln in f["lines"]:
                n = ln["line_number"]
                lines[n] = max(lines.get(n, 0), ln["count"])
                owner.setdefault(n, ln.get("function_name", "?"))
            funcs += [(fn["name"], fn["start_line"], fn["execution_count"])
                      for fn in f["functions"]]
    return lines, owner, funcs


def blocks(name, lines, owner):
    """Runs of executable lines of one function never executed:
    (count, name, first, last, function)."""
    out, run = [], []

    def end():
        if run:
            out.append((len(run), name, run[0], run[-1], owner[run[0]]))

    for n in sorted(lines):
        if lines[n] == 0 and run and owner[n] == owner[run[0]]:
            run.append(n)
            continue
        end()
        run = [n] if lines[n] == 0 else []
    end()
    return out


def write_info(path, mod, results):
    """An lcov tracefile (lines and functions) for genhtml."""
    with open(path, "w") as f:
        f.write("TN:mempager\n")
        for stem, (lines, _, funcs) in results.items():
            f.write(f"SF:{os.path.join(mod, 'kmod', stem + '.c')}\n")
            for fn, start, _ in funcs:
                f.write(f"FN:{start},{fn}\n")
            for fn, _, count in funcs:
                f.write(f"FNDA:{count},{fn}\n")
            f.write(f"FNF:{len(funcs)}\n")
            f.write(f"FNH:{sum(1 for _, _, c in funcs if c)}\n")
            for n in sorted(lines):
                f.write(f"DA:{n},{lines[n]}\n")
            f.write(f"LF:{len(lines)}\n")
            f.write(f"LH:{sum(1 for c in lines.values() if c)}\n")
            f.write("end_of_record\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lane", default="debug")
    ap.add_argument("--blocks", type=int, default=0)
    ap.add_argument("--html")
    args = ap.parse_args()

    build = os.path.join(TOP, "build")
    log = os.path.join(build, f"{args.lane}.log")
    mod = os.path.join(build, f"mod-{args.lane}")
    work = os.path.join(build, "coverage", args.lane)
    if not os.path.exists(log):
        fail(f"no {log}: run the {args.lane} lane first")
    data = gcov_data(log)
    if data is None:
        fail(f"no coverage data in {log} (a module built without "
             "coverage, or a VM that did not reach rmmod)")
    if not unpack(data, mod, work):
        fail(f"the coverage data in {log} is not of {mod}")

    results = {stem: run_gcov(work, mod, stem) for stem in sources(mod)}
    print(f"line coverage of kmod/*.c ({args.lane} lane):")
    print(f"  {'file':<20} {'lines':>6} {'covered':>8} {'percent':>8}")
    total = covered = 0
    for stem, (lines, _, _) in results.items():
        n = len(lines)
        c = sum(1 for v in lines.values() if v)
        total, covered = total + n, covered + c
        pct = f"{100.0 * c / n:.1f}%" if n else "-"
        print(f"  {'kmod/' + stem + '.c':<20} {n:>6} {c:>8} {pct:>8}")
    pct = 100.0 * covered / total if total else 0.0
    print(f"  {'total':<20} {total:>6} {covered:>8} {pct:>7.1f}%")

    if args.blocks:
        found = []
        for stem, (lines, owner, _) in results.items():
            found += blocks(f"kmod/{stem}.c", lines, owner)
        found.sort(key=lambda b: (-b[0], b[1], b[2]))
        print("largest blocks never run (executable lines):")
        for n, name, first, last, fn in found[:args.blocks]:
            print(f"  {n:>4}  {name}:{first}-{last}  {fn}()")

    if args.html:
        os.makedirs(args.html, exist_ok=True)
        info = os.path.join(args.html, "mempager.info")
        write_info(info, mod, results)
        if not shutil.which("genhtml"):
            fail("genhtml not found (lcov; scripts/install-deps.sh)")
        p = subprocess.run(["genhtml", "--quiet", "--function-coverage",
                            "--title", f"mempager kmod/ ({args.lane} lane)",
                            "--prefix", mod, "-o", args.html, info],
                           capture_output=True, text=True)
        if p.returncode:
            fail(f"genhtml: {p.stderr.strip()}")
        print(f"coverage: HTML report in {os.path.join(args.html, 'index.html')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
