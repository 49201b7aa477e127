"""``python -m trailkit.samples DEST [--events N] [--seed S]``."""

from trailkit.samples import main

raise SystemExit(main())
