"""The second process of a large load: ``python -m trailkit._worker`` (internal).

Reads a pickled ``(batches, out_dir, cache_dir, threads)`` from stdin, parses the batches with
:func:`trailkit.load._worker_batches` and writes the pickled result to stdout. Started as a
plain subprocess rather than through ``multiprocessing`` so that it never re-imports the
caller's ``__main__`` (a script without an ``if __name__ == "__main__"`` guard, a notebook).
The pickle only ever travels between this process and its parent.
"""

from __future__ import annotations

import pickle  # noqa: S403 - parent <-> child of the same program only
import sys


def main() -> int:
    """Entry point; returns the exit code."""
    from trailkit.load import _worker_batches

    batches, out_dir, cache_dir, threads = pickle.load(sys.stdin.buffer)  # noqa: S301
    result = _worker_batches(batches, out_dir, cache_dir, threads)
    pickle.dump(result, sys.stdout.buffer)
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
