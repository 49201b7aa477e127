"""Notebook-query benchmark on a loaded frame: polars vs pandas vs DuckDB.

Loads the generated events once with trailkit (through its Parquet cache), makes a pandas
copy (``DataFrame.to_pandas()``) and a DuckDB table from the same data, then times three
typical investigation queries on each, in this one process (warm, after one untimed run):

- **filter**: the rows of one ``event_name`` (a name with about 1 % of the events), all columns;
- **per-principal-per-day**: event counts per ``actor`` per UTC day;
- **regex**: how many ``user_agent`` values match a case-insensitive alternation.

    python benchmarks/bench_query.py --events 2000000 --repeat 7

Run it on a quiet machine. See ``benchmarks/README.md``.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import (  # noqa: E402
    BENCH,
    DATA_ROOT,
    DEFAULT_SEED,
    ROOT,
    busy_warning,
    ensure_data,
    machine_info,
)

if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

TOOLS = ["boto3", "botocore", "aws-cli", "python-requests", "curl", "sqlmap", "kali", "nmap"]
USER_AGENT_RX = "(?i)(?:" + "|".join(TOOLS) + ")"
START, END = "<!-- bench_query:start -->", "<!-- bench_query:end -->"


def timed(fn: Callable[[], object], repeat: int) -> tuple[float, object]:
    """Median milliseconds of ``repeat`` runs after one untimed warm-up; and the last result."""
    result = fn()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        result = fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), result


def _size(result) -> int:
    """Rows of a result (polars / pandas / arrow), or the value of a scalar count."""
    if isinstance(result, int):
        return result
    if hasattr(result, "num_rows"):
        return result.num_rows
    if hasattr(result, "height"):
        return result.height
    return len(result)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--events", type=int, default=2_000_000, help="generated data size to use")
    ap.add_argument("--data", type=Path, help="use an existing folder of logs instead")
    ap.add_argument("--repeat", type=int, default=7, help="timed runs per query (median)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED)
    ap.add_argument("--days", type=int, help="as in bench_load.py (default: automatic)")
    ap.add_argument("--out", type=Path, default=BENCH / "results" / "query-latest.md")
    ap.add_argument(
        "--readme",
        type=Path,
        action="append",
        help=f"also put the table between {START} and {END} in this file (repeatable)",
    )
    args = ap.parse_args(argv)

    busy = busy_warning()
    if busy:
        print(f"WARNING: {busy}", flush=True)
    info = machine_info()

    import duckdb
    import polars as pl

    import trailkit

    data_dir = args.data if args.data else ensure_data(args.events, args.seed, args.days)
    cache_dir = DATA_ROOT / "_cache" / f"query-{Path(data_dir).name}"
    t = time.perf_counter()
    df = trailkit.read_events(
        data_dir, cache=True, cache_dir=cache_dir, progress=False, on_error="ignore"
    )
    print(f"[load] {df.height:,} events in {time.perf_counter() - t:.1f} s (trailkit)", flush=True)

    t = time.perf_counter()
    pdf = df.to_pandas()
    print(f"[pandas] copy made in {time.perf_counter() - t:.1f} s", flush=True)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    arrow = df.to_arrow()
    con.register("events_arrow", arrow)
    t = time.perf_counter()
    con.execute("CREATE TABLE events AS SELECT * FROM events_arrow")
    con.unregister("events_arrow")
    del arrow
    print(f"[duckdb] table made in {time.perf_counter() - t:.1f} s", flush=True)

    # an event name with about 1 % of the events: a typical "show me these calls" filter
    counts = df.group_by("event_name").len().drop_nulls()
    target = counts.with_columns((pl.col("len") - df.height / 100).abs().alias("d")).sort("d")
    name = target["event_name"][0]

    queries: list[tuple[str, str, dict[str, Callable[[], object]]]] = [
        (
            "filter",
            f"rows with `event_name == {name!r}` (all columns)",
            {
                "polars": lambda: df.filter(pl.col("event_name") == name),
                "pandas": lambda: pdf[pdf["event_name"] == name],
                "DuckDB": lambda: con.sql(
                    "SELECT * FROM events WHERE event_name = $name", params={"name": name}
                ).to_arrow_table(),
            },
        ),
        (
            "per-principal-per-day",
            "event count per `actor` per UTC day",
            {
                "polars": lambda: df.group_by(
                    "actor", pl.col("event_time").dt.truncate("1d").alias("day")
                ).len(),
                "pandas": lambda: pdf.groupby(
                    [pdf["actor"], pdf["event_time"].dt.floor("D")], dropna=False
                ).size(),
                "DuckDB": lambda: con.sql(
                    "SELECT actor, date_trunc('day', event_time) AS day, count(*) AS n "
                    "FROM events GROUP BY ALL"
                ).to_arrow_table(),
            },
        ),
        (
            "regex",
            f"count of `user_agent` matching any of {', '.join(TOOLS)} (regex, any case)",
            {
                "polars": lambda: df.select(
                    pl.col("user_agent").str.contains(USER_AGENT_RX).sum()
                ).item(),
                "pandas": lambda: int(
                    pdf["user_agent"].str.contains(USER_AGENT_RX, regex=True, na=False).sum()
                ),
                "DuckDB": lambda: con.execute(
                    "SELECT count(*) FROM events WHERE regexp_matches(user_agent, ?)",
                    [USER_AGENT_RX],
                ).fetchone()[0],
            },
        ),
    ]
    engines = ["polars", "pandas", "DuckDB"]
    rows = []
    for qname, desc, fns in queries:
        ms, sizes = {}, {}
        for eng in engines:
            ms[eng], res = timed(fns[eng], args.repeat)
            sizes[eng] = _size(res)
            print(f"[{qname}] {eng}: {ms[eng]:.1f} ms ({sizes[eng]:,})", flush=True)
        agree = len(set(sizes.values())) == 1
        rows.append((qname, desc, ms, sizes, agree))

    lines = ["### Query benchmark", ""]
    lines.append(
        f"{df.height:,} events loaded by trailkit; pandas works on `DataFrame.to_pandas()` of the "
        f"same frame (string dtype: `{pdf['user_agent'].dtype}`), DuckDB on a native table made "
        f"from it. Median of {args.repeat} runs after one warm-up, milliseconds; the result is "
        f"materialised (a polars / pandas frame, an Arrow table from DuckDB, or a count)."
    )
    lines.append("")
    lines.append("| query | what | polars ms | pandas ms | DuckDB ms | result size |")
    lines.append("|---|---|---:|---:|---:|---|")
    for qname, desc, ms, sizes, agree in rows:
        size = (
            f"{sizes['polars']:,}"
            if agree
            else "**differ**: " + ", ".join(f"{e} {v:,}" for e, v in sizes.items())
        )
        lines.append(
            f"| {qname} | {desc} | {ms['polars']:.1f} | {ms['pandas']:.1f} | "
            f"{ms['DuckDB']:.1f} | {size} |"
        )
    lines.append("")
    lines.append(
        f"Frame sizes: polars {df.estimated_size() / 1e6:,.0f} MB, "
        f"pandas {pdf.memory_usage(deep=True).sum() / 1e6:,.0f} MB."
    )
    lines.append("")
    lines.append("Machine: " + "; ".join(f"{k} {v}" for k, v in info.items()) + ".")
    if busy:
        lines += ["", f"> **Note:** {busy}"]
    lines.append("")
    report = "\n".join(lines)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(report)
    print()
    print(report)
    print(f"[done] written to {args.out}", flush=True)
    if args.readme:
        from bench_load import END as LOAD_END
        from bench_load import update_readme

        for path in args.readme:
            update_readme(path, report, START, END, after=LOAD_END)


if __name__ == "__main__":
    main()
