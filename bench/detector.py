"""The sensitive-data detector's quality and cost: precision and recall per corpus split, and time per value.

    python bench/detector.py            # quality on both halves, then the micro-benchmark
    python bench/detector.py --misses   # also list the tuning half's misses and false alarms (never the held-out's)

Quality is measured on ``tests/checks/sensitive_data/tag_corpus.jsonl`` (built by
``build_corpus.py`` next to it): a row counts as predicted sensitive when the
detector reports anything for its key or value. The held-out half is for reporting
only; tune on the tuning half.

Cost: the one-time import of the detector, the one-time import of detect-secrets and
construction of its plugins (paid by the first value that may hold a token), and the
mean time per value over the corpus with
the detector's per-value cache disabled (each value scanned fresh), so the number is
the real per-value work, not a cache hit.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPOSITORY))
CORPUS = REPOSITORY / "tests" / "checks" / "sensitive_data" / "tag_corpus.jsonl"


def rows() -> list[dict]:
    return [json.loads(line) for line in CORPUS.read_text().splitlines() if line]


def quality(detector, selected: list[dict]) -> dict[str, float]:
    counts = {"tp": 0, "fp": 0, "fn": 0, "tn": 0}
    for row in selected:
        predicted = bool(detector.scan_tag(row["key"], row["value"]))
        counts[("t" if predicted == row["sensitive"] else "f") + ("p" if predicted else "n")] += 1
    precision = counts["tp"] / max(1, counts["tp"] + counts["fp"])
    recall = counts["tp"] / max(1, counts["tp"] + counts["fn"])
    return {**counts, "precision": precision, "recall": recall}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the tuning half's errors (values masked)")
    parser.add_argument("--repeat", type=int, default=5, help="timing rounds over the corpus (median quoted)")
    arguments = parser.parse_args()

    started = time.perf_counter()
    from checks.sensitive_data.detector import SensitiveDataDetector, mask
    from checks.sensitive_data.vendor_tokens import library_version
    imported = time.perf_counter() - started
    from checks.sensitive_data.vendor_tokens import library_plugins
    started = time.perf_counter()
    library_plugins()  # what the first value that may hold a token pays, once per process
    plugins_loaded = time.perf_counter() - started
    detector = SensitiveDataDetector()

    corpus = rows()
    print(f"corpus: {len(corpus)} rows; detector library: {library_version()}")
    print("| split | rows | tp | fp | fn | tn | precision | recall |")
    print("|---|---|---|---|---|---|---|---|")
    for split in ("tuning", "held_out"):
        selected = [row for row in corpus if row["split"] == split]
        q = quality(detector, selected)
        print(f"| {split} | {len(selected)} | {q['tp']} | {q['fp']} | {q['fn']} | {q['tn']} | {q['precision']:.3f} | {q['recall']:.3f} |")
    if arguments.misses:
        for row in corpus:
            if row["split"] != "tuning":
                continue
            found = sorted({d.kind for d in detector.scan_tag(row["key"], row["value"])})
            if bool(found) != row["sensitive"]:
                what = "MISS" if row["sensitive"] else "FALSE ALARM"
                print(f"{what}: key={row['key']!r} value={mask(row['value'])!r} (len {len(row['value'])}) label={row['kind']} found={found}")

    # per-value cost with the cache out of the way: a fresh detector per round, every value distinct within a round
    per_value = []
    for _ in range(arguments.repeat):
        fresh = SensitiveDataDetector()
        started = time.perf_counter()
        for row in corpus:
            fresh.scan_tag(row["key"], row["value"])
        per_value.append((time.perf_counter() - started) / len(corpus))
    print(f"import: {imported * 1000:.0f} ms; detect-secrets import and plugins (once, on first use): {plugins_loaded * 1000:.0f} ms; "
          f"per value (key and value, uncached): median {statistics.median(per_value) * 1e6:.0f} us over {arguments.repeat} rounds")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
