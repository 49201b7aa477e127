"""Deterministic, realistic CloudTrail logs in the real S3 delivery layout.

- :func:`generate` writes the bundled sample set: five working days (2026-03-09 .. 13) of two
  accounts of an organization trail, with the incidents of :data:`INCIDENTS` planted in it.
- :func:`generate_bulk` writes millions of background events quickly, for benchmarks.

Both are byte-identical for the same arguments. From a shell:
``python -m trailkit.samples DEST [--events N] [--seed S]``.

>>> import tempfile
>>> from trailkit.samples import generate, INCIDENTS
>>> with tempfile.TemporaryDirectory() as tmp:
...     summary = generate(tmp, scale=0.02)
>>> summary.events > 500, "bucket_deletion" in INCIDENTS
(True, True)
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import time
from pathlib import Path

from trailkit.samples.identities import ACCOUNTS, iso
from trailkit.samples.incidents import INCIDENTS, plant
from trailkit.samples.writer import GenerationSummary, write_events

__all__ = ["generate", "generate_bulk", "INCIDENTS", "GenerationSummary", "main"]

#: the S3 bucket the sample organization trail delivers to (named in the signed digests)
SAMPLE_BUCKET = "acme-org-cloudtrail-logs"


def _prepare(dest: str | os.PathLike, clear: bool) -> Path:
    path = Path(dest)
    if clear and (path / "AWSLogs").is_dir():
        shutil.rmtree(path / "AWSLogs")
    path.mkdir(parents=True, exist_ok=True)
    return path


def generate(dest: str | os.PathLike, *, seed: int = 7, days: int = 5, scale: float = 1.0,
             clear: bool = True) -> GenerationSummary:
    """Write the sample log set (background activity plus the planted incidents) under ``dest``.

    Parameters
    ----------
    dest
        Folder to write ``AWSLogs/...`` into (an existing ``dest/AWSLogs`` is replaced when
        ``clear``).
    seed
        Seed of the random generator; the same seed gives byte-identical files.
    days
        Days of background activity from 2026-03-09 (the incidents fall on 03-10 .. 03-12).
    scale
        Multiplier of the background volume (``0.05`` gives a small set for tests).

    Returns
    -------
    GenerationSummary
        Counts, sizes and time range; ``print()`` it.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(generate(tmp, scale=0.02).accounts)
    ['111122223333 (prod)', '444455556666 (dev)']
    """
    from trailkit.samples.background import background
    from trailkit.samples.records import Emitter

    start = time.perf_counter()
    path = _prepare(dest, clear)
    rng = random.Random(seed)  # noqa: S311 - reproducible sample data, not security
    em = Emitter(rng)
    background(em, days=days, scale=scale)
    plant(em)
    files, size = write_events(path, em.events, rng)
    # hourly signed digest files (CloudTrail-Digest/), signed with the TEST key in
    # dest/test-signing-key/ (made when missing), so log file validation works on the samples
    from trailkit.integrity import sign_samples

    sign_samples(path, bucket=SAMPLE_BUCKET, home_region="us-east-1")
    times = [t for t, _ in em.events]
    regions = sorted({r["awsRegion"] for _, r in em.events})
    return GenerationSummary(
        dest=path, events=len(em.events), files=files, bytes=size, seconds=time.perf_counter() - start,
        first_event=iso(min(times)), last_event=iso(max(times)),
        accounts=[f"{a} ({n})" for a, n in ACCOUNTS.items()], regions=regions, incidents=list(INCIDENTS))


def generate_bulk(dest: str | os.PathLike, *, events: int = 2_000_000, seed: int = 1, days: int = 7,
                  clear: bool = True, processes: int = 2) -> GenerationSummary:
    """Write ``events`` background events (no incidents) quickly, for benchmarks.

    Records are stamped from a few hundred precomputed templates; files hold ~250 records and
    are delivered every ~5 minutes per account and region, in the same layout as
    :func:`generate`. Work is split over ``processes`` worker processes by day.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     print(generate_bulk(tmp, events=2000, days=1, processes=1).events)
    2000
    """
    from trailkit.samples.bulk import run_bulk

    start = time.perf_counter()
    path = _prepare(dest, clear)
    summary = run_bulk(path, events=events, seed=seed, days=days, processes=processes)
    summary.seconds = time.perf_counter() - start
    return summary


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m trailkit.samples DEST [--events N] [--seed S] [--days D]``."""
    p = argparse.ArgumentParser(prog="python -m trailkit.samples", description=__doc__.split("\n\n")[0])
    p.add_argument("dest", help="folder to write AWSLogs/... into")
    p.add_argument("--events", type=int, default=0, help="write this many bulk background events instead")
    p.add_argument("--seed", type=int, default=None, help="random seed (default 7 for samples, 1 for bulk)")
    p.add_argument("--days", type=int, default=None, help="days of activity (default 5 / 7 for bulk)")
    args = p.parse_args(argv)
    if args.events:
        summary = generate_bulk(args.dest, events=args.events, seed=1 if args.seed is None else args.seed,
                                days=args.days or 7)
    else:
        summary = generate(args.dest, seed=7 if args.seed is None else args.seed, days=args.days or 5)
    print(summary)
    return 0
