"""The ``trailkit`` command line: what is not interactive.

Subcommands (``trailkit --help`` lists them):

- ``trailkit summary PATH...`` — load logs and print a first-look investigation summary.
- ``trailkit demo`` — the summary of the bundled sample logs (``data/samples``).
- ``trailkit samples DEST`` — write the sample log set (or ``--events N`` for a large one).
- ``trailkit export PATH... --out events.parquet`` — the normalised events as Parquet/CSV/JSON lines.
- ``trailkit cache [info|clear]`` — the size of the Parquet/S3 cache, or remove it.
- ``trailkit validate PATH --public-keys keys.json`` — log file integrity validation (exit 1 on failure).

Each subcommand is one ``_add_<name>(sub)`` function below that registers its parser and
handler; add new ones the same way.

>>> build_parser().parse_args(["summary", "logs/"]).paths
['logs/']
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

Handler = Callable[[argparse.Namespace], int]


def _load_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("paths", nargs="+", help="log files, folders, globs or s3://bucket/prefix URLs")
    p.add_argument("--start", help="first time to include (ISO, UTC), e.g. 2026-03-10")
    p.add_argument("--end", help="time to stop before (ISO, UTC)")
    p.add_argument("--regions", nargs="*", help="only these regions")
    p.add_argument("--accounts", nargs="*", help="only these account ids")
    p.add_argument("--strict", action="store_true", help="fail on any unreadable file or record")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the load cache")


def _read(args: argparse.Namespace):
    import trailkit

    report = trailkit.LoadReport()
    df = trailkit.read_events(
        args.paths, start=args.start, end=args.end, regions=args.regions, accounts=args.accounts,
        on_error="raise" if args.strict else "ignore", report=report,
        cache=False if args.no_cache else "auto", progress=None,
    )
    return df, report


def _print_report(report) -> None:
    if report.problems:
        print("\n" + report.text(limit=10), file=sys.stderr)


def _cmd_summary(args: argparse.Namespace) -> int:
    from trailkit.summary import summarize

    df, report = _read(args)
    print(summarize(df, report))
    _print_report(report)
    return 0


def _add_summary(sub) -> None:
    p = sub.add_parser("summary", help="print a first-look investigation summary of some logs")
    _load_args(p)
    p.set_defaults(func=_cmd_summary)


def sample_dir() -> Path:
    """The bundled samples (``data/samples`` beside the package); generated into the cache
    folder when trailkit was installed without them.

    >>> sample_dir().name
    'samples'
    """
    here = Path(__file__).resolve().parent.parent / "data" / "samples"
    if (here / "AWSLogs").is_dir():
        return here
    from trailkit.load import default_cache_dir
    from trailkit.samples import generate

    dest = default_cache_dir() / "samples"
    if not (dest / "AWSLogs").is_dir():
        print(f"(writing the sample logs to {dest} ...)", file=sys.stderr)
        generate(dest)
    return dest


def _cmd_demo(args: argparse.Namespace) -> int:
    import trailkit
    from trailkit.summary import summarize

    root = sample_dir()
    print(f"trailkit {trailkit.__version__} — summary of the bundled sample logs in {root}\n")
    report = trailkit.LoadReport()
    df = trailkit.read_events(root, report=report, on_error="ignore")
    print(summarize(df, report))
    _print_report(report)
    print("\nNext: `./run lab` opens the investigation notebooks on these samples; "
          "`trailkit summary <your logs>` does the same for your own.")
    return 0


def _add_demo(sub) -> None:
    p = sub.add_parser("demo", help="summary of the bundled sample logs")
    p.set_defaults(func=_cmd_demo)


def _cmd_samples(args: argparse.Namespace) -> int:
    from trailkit import samples

    if args.events:
        summary = samples.generate_bulk(args.dest, events=args.events, seed=args.seed)
    else:
        summary = samples.generate(args.dest, seed=args.seed)
    print(summary)
    return 0


def _add_samples(sub) -> None:
    p = sub.add_parser("samples", help="write the sample logs (or a large generated set)")
    p.add_argument("dest", help="folder to write AWSLogs/... into")
    p.add_argument("--events", type=int, default=0, help="write this many background events instead")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(func=_cmd_samples)


def _cmd_export(args: argparse.Namespace) -> int:
    df, report = _read(args)
    out = Path(args.out)
    fmt = args.format or out.suffix.lstrip(".")
    if fmt == "parquet":
        df.write_parquet(out, compression="zstd")
    elif fmt == "csv":
        df.write_csv(out)
    elif fmt in ("jsonl", "ndjson"):
        df.write_ndjson(out)
    else:
        print(f"{out}: unknown format {fmt!r}; use .parquet, .csv or .jsonl (or --format).", file=sys.stderr)
        return 2
    print(f"wrote {df.height:,} events to {out}")
    _print_report(report)
    return 0


def _add_export(sub) -> None:
    p = sub.add_parser("export", help="write the normalised events to Parquet, CSV or JSON lines")
    _load_args(p)
    p.add_argument("--out", required=True, help="output file (.parquet, .csv, .jsonl)")
    p.add_argument("--format", choices=["parquet", "csv", "jsonl"])
    p.set_defaults(func=_cmd_export)


def _add_report(sub) -> None:
    from trailkit.report import add_report_arguments, run_report_command

    p = sub.add_parser(
        "report",
        help="run the investigation notebooks on some logs; write executed .ipynb and offline .html",
        description="Execute notebooks against CloudTrail logs and write executed .ipynb and "
        "self-contained .html files (they open offline and can be sent to someone).",
    )
    add_report_arguments(p)
    p.set_defaults(func=run_report_command)


def _add_lab(sub) -> None:
    from trailkit.report import add_lab_arguments, run_lab_command

    p = sub.add_parser("lab", help="open JupyterLab on the investigation notebooks")
    add_lab_arguments(p)
    p.set_defaults(func=run_lab_command)


def _add_validate(sub) -> None:
    from trailkit.integrity import add_validate_arguments, run_validate_command

    p = sub.add_parser(
        "validate",
        help="check log files against their signed digest files (like `aws cloudtrail validate-logs`)",
        description="Verify CloudTrail digest signatures and log file hashes in a local copy or in S3. "
        "Exit status 1 when a digest or log file is invalid, missing or unverified (--strict: also "
        "when a log file is not covered by any digest or the digest chain has a gap).",
    )
    add_validate_arguments(p)
    p.set_defaults(func=run_validate_command)


def _cmd_cache(args: argparse.Namespace) -> int:
    import shutil

    from trailkit.load import default_cache_dir

    root = Path(args.dir) if args.dir else default_cache_dir()
    files = [p for p in root.rglob("*") if p.is_file()] if root.is_dir() else []
    size = sum(p.stat().st_size for p in files)
    if args.action == "clear":
        if root.is_dir():
            shutil.rmtree(root)
        print(f"removed {len(files):,} files ({size / 1e6:,.1f} MB) from {root}")
    else:
        print(f"{root}: {len(files):,} files, {size / 1e6:,.1f} MB "
              f"(loaded logs as Parquet batches and memory-mappable Arrow answers, kept under "
              f"$TRAILKIT_CACHE_MAX_GB, default 10 GB; S3 downloads; public keys)")
    return 0


def _add_cache(sub) -> None:
    p = sub.add_parser("cache", help="show or clear trailkit's cache folder")
    p.add_argument("action", choices=["info", "clear"], nargs="?", default="info")
    p.add_argument("--dir", help="the cache folder (default: $TRAILKIT_CACHE_DIR or ~/.cache/trailkit)")
    p.set_defaults(func=_cmd_cache)


#: every subcommand's registration function, in --help order
SUBCOMMANDS: list[Callable] = [_add_summary, _add_demo, _add_samples, _add_export, _add_report, _add_lab,
                               _add_validate, _add_cache]


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    import trailkit

    parser = argparse.ArgumentParser(prog="trailkit", description="Investigate AWS CloudTrail logs.")
    parser.add_argument("--version", action="version", version=f"trailkit {trailkit.__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for add in SUBCOMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``trailkit`` command; returns the exit code."""
    from trailkit.errors import TrailkitError

    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except TrailkitError as exc:
        print(f"trailkit: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
