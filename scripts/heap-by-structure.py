#!/usr/bin/env python3
"""Sums a heaptrack peak flame-graph file by the node's structures.

Usage: heaptrack_print --flamegraph-cost-type peak -F peak.txt heaptrack.<name>.<pid>.zst
       scripts/heap-by-structure.py peak.txt

Each line of peak.txt is a stack (outermost frame first, frames separated by ';') and the
bytes it held when the heap was at its peak. A stack counts towards the first structure,
from the allocation upwards, that one of its frames names (by source file or function).
docs/PERFORMANCE.md, "Where a new node's memory goes", has the table this gives.
"""
import collections
import re
import sys

STRUCTURES = [
    ("search: tantivy deletes awaiting segments", r"delete_query@index_writer|delete_queue"),
    ("search: tantivy, other", r"tantivy|index_writer|segment_writer|postings"),
    ("web social index", r"@social\.rs"),
    ("web moderation index, web feeder", r"@moderation\.rs|web/feeder"),
    ("membership index", r"@kept\.rs|@compute\.rs|@facts\.rs|@derived\.rs|membership"),
    ("sync set", r"note_durable"),
    ("sync driver (ids to fetch)", r"@sync_driver\.rs"),
    ("ingest pipeline, fetch answers", r"@pipeline\.rs|@transfer\.rs|@ingest_task\.rs|@codec\.rs"),
    ("stored-record broadcast", r"@broadcast\.rs"),
    ("sled", r"@tree\.rs|@iobuf\.rs|@pagetable\.rs|@segment\.rs|@lru\.rs|@serialization\.rs"
             r"|@ivec\.rs|@metrics\.rs|@histogram\.rs|@batch\.rs|@logger\.rs|@flusher\.rs"
             r"|@prefix\.rs|@atomic\.rs|@internal\.rs|@node\.rs|@db\.rs|@config\.rs"
             r"|@snapshot\.rs|@reservation\.rs|@context\.rs|@sled_store\.rs"),
    ("libp2p", r"kbucket|libp2p|yamux|noise|swarm|gossipsub|@handler\.rs|@behaviour\.rs"),
]


def frame_name(frame):
    """`function@file` of one frame as heaptrack prints it: `function (file.rs)`."""
    match = re.search(r"\(([^()]*)\)$", frame)
    if not match:
        return frame
    function = re.sub(r"<.*", "", frame[: frame.rfind(" (")])
    return f"{function}@{match.group(1)}"


def main(path):
    totals = collections.Counter()
    for line in open(path, encoding="utf-8", errors="replace"):
        stack, _, count = line.rstrip().rpartition(" ")
        if not count.isdigit() or int(count) == 0:
            continue
        names = [frame_name(f) for f in reversed(stack.split(";"))]
        structure = next(
            (label for name in names for label, pattern in STRUCTURES if re.search(pattern, name)),
            "other",
        )
        totals[structure] += int(count)
    print(f"total {sum(totals.values()) / 2**20:.1f} MiB")
    for label, count in totals.most_common():
        print(f"{count / 2**20:8.1f} MiB  {label}")


if __name__ == "__main__":
    main(sys.argv[1])
