"""Throughput (texts/s) and peak memory of each sentiment engine, with a raw transformers
pipeline of XLM-R-base size measured in the same run as the reference.

    .venv/bin/python -m benchmarks.sentiment_speed [--texts 800] [--reference DIR]

Each engine runs in its own process (so peak RSS is its own) on the same distinct posts
from the bundled demo data: no cache hit flatters anyone. The reference is
`transformers.pipeline("text-classification")` on a randomly initialised model of
xlm-roberta-base's shape (speed does not depend on the weights), batch size 32.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ENGINES = ("vader", "embedded-fast", "embedded", "auto", "raw-pipeline")


def texts(count: int) -> list[str]:
    """`count` distinct post texts from the demo data (reposts left out)."""
    from sources.replay import BUNDLED, load_mentions

    seen: dict[str, None] = {}
    for mention in load_mentions(BUNDLED):
        if not mention.is_repost:
            seen.setdefault(mention.text, None)
    return list(seen)[:count]


def run_one(engine: str, count: int, reference: str) -> dict[str, float]:
    """Time one engine in this process; return texts/s and peak RSS."""
    batch = texts(count)
    if engine == "raw-pipeline":
        from transformers import pipeline

        classify = pipeline("text-classification", model=reference, device=-1)
        classify(batch[:8], batch_size=8)  # warm-up
        started = time.perf_counter()
        classify(batch, batch_size=32, truncation=True, max_length=128)
    else:
        from models.embedded import E5Encoder, EmbeddedEngine
        from models.engines import EngineOptions, build_engine
        from models.sentiment import CachingScorer

        class Off(E5Encoder):
            def available(self) -> bool:
                return False

        if engine == "embedded-fast":
            built = EmbeddedEngine(encoder=Off())
        else:
            built = build_engine(EngineOptions(engine))
        scorer = CachingScorer(built)  # language ID is timed separately
        scorer.score(["warm up the model", "calentando"])
        started = time.perf_counter()
        scorer.score(batch)
    elapsed = time.perf_counter() - started
    return {"texts_per_s": len(batch) / elapsed, "seconds": elapsed, "peak_rss_mb": peak_rss_mb()}


def peak_rss_mb() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss, not inherited from
    the parent that built the reference model)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Run every engine in a subprocess and print a table with ratios to the reference."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--texts", type=int, default=800)
    parser.add_argument(
        "--reference", default=None, help="reference model folder (built if absent)"
    )
    parser.add_argument("--one", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.texts, args.reference)))
        return
    reference = args.reference or str(Path(tempfile.gettempdir()) / "pulso-reference-xlmr")
    from benchmarks.reference_model import build_reference_model

    build_reference_model(Path(reference))
    results = {}
    for engine in ENGINES:
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "benchmarks.sentiment_speed",
                "--one",
                engine,
                "--texts",
                str(args.texts),
                "--reference",
                reference,
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        results[engine] = json.loads(done.stdout.strip().splitlines()[-1])
    base = results["raw-pipeline"]["texts_per_s"]
    print(f"cores: {os.cpu_count()}; {args.texts} distinct demo posts")
    print(f"{'engine':<14} {'texts/s':>9} {'x raw':>7} {'peak RSS MB':>12}")
    for engine, r in results.items():
        ratio = r["texts_per_s"] / base
        print(f"{engine:<14} {r['texts_per_s']:>9.1f} {ratio:>7.2f} {r['peak_rss_mb']:>12.0f}")


if __name__ == "__main__":
    main()
