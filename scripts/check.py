"""The one command that runs every check: `python3 scripts/check.py [pytest arguments]`.

ruff (lint and format), mypy (strict), then pytest against real PostgreSQL and Redis: the ones at 127.0.0.1 when
they answer (or TEST_DATABASE_URL / TEST_REDIS_URL), else embedded servers started from wheels.
"""

from __future__ import annotations

import subprocess
import sys

from bootstrap import ROOT, ensure_environment


def main() -> int:
    bin_dir = ensure_environment()
    steps = [
        [str(bin_dir / "ruff"), "check", "."],
        [str(bin_dir / "ruff"), "format", "--check", "."],
        [str(bin_dir / "mypy")],
        [str(bin_dir / "python"), "-m", "pytest", *sys.argv[1:]],
    ]
    for step in steps:
        print("$", " ".join(step[:1] + step[1:]).replace(str(bin_dir) + "/", ""), flush=True)
        result = subprocess.run(step, cwd=ROOT, check=False)
        if result.returncode != 0:
            return result.returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
