#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Join a second bench run into the first: bench-merge.py MAIN EXTRA.

MAIN.txt / MAIN.json and EXTRA.txt / EXTRA.json are two runs' tables and
JSON (scripts/bench.sh: the 2-vCPU boot, then the 1-vCPU one). EXTRA's case
rows, whose names its bench marked (e.g. "(1 vCPU)"), go right after MAIN's
rows of the same case, and a note says how many rounds they had. MAIN's
two files are rewritten.
"""
import json
import sys


def merge_json(main, extra):
    """Put EXTRA's cases after MAIN's cases of the same id."""
    for c in extra["cases"]:
        ids = [i for i, m in enumerate(main["cases"]) if m["id"] == c["id"]]
        at = ids[-1] + 1 if ids else len(main["cases"])
        main["cases"].insert(at, c)
    main.setdefault("extra_runs", []).append(
        {k: extra[k] for k in ("vcpus", "rounds", "seconds", "kernel")})


def merge_table(lines, extra_lines, main_ids, ids, note):
    """MAIN's table lines with EXTRA's rows of @ids after MAIN's rows of
    the same case (or after MAIN's last row), and @note before the column
    heads."""
    def first(line):
        return line.split(" ", 1)[0]

    rows = [l for l in extra_lines if first(l) in ids]
    rows_at = [i for i, l in enumerate(lines) if first(l) in main_ids]
    out = []
    for i, line in enumerate(lines):
        if line.startswith("case "):
            out.append(note)
        out.append(line)
        if i in rows_at:
            out.extend(r for r in rows if first(r) == first(line) or
                       (i == rows_at[-1] and first(r) not in main_ids))
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bench-merge.py MAIN EXTRA (file names without "
                 ".txt / .json)")
    mp, xp = sys.argv[1:3]
    with open(mp + ".json") as f:
        mj = json.load(f)
    with open(xp + ".json") as f:
        xj = json.load(f)
    with open(mp + ".txt") as f:
        mt = f.read().splitlines()
    with open(xp + ".txt") as f:
        xt = f.read().splitlines()
    main_ids = {c["id"] for c in mj["cases"]}
    ids = {c["id"] for c in xj["cases"]}
    note = (f'rows marked "({xj["vcpus"]} vCPU)": a second boot with '
            f'{xj["vcpus"]} vCPU, {xj["pages_per_case"]} pages, '
            f'{xj["rounds"]} rounds')
    mt = merge_table(mt, xt, main_ids, ids, note)
    merge_json(mj, xj)
    with open(mp + ".txt", "w") as f:
        f.write("\n".join(mt) + "\n")
    with open(mp + ".json", "w") as f:
        json.dump(mj, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
