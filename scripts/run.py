"""The one command that runs the service: `python3 scripts/run.py [--host H] [--port P]`.

Sets up .venv, migrates, builds the default model if missing, and starts the API and a worker. Uses DATABASE_URL
and REDIS_URL when set, else real PostgreSQL and Redis servers embedded from wheels under .data/.
"""

from __future__ import annotations

import os
import sys

from bootstrap import ROOT, ensure_environment

if __name__ == "__main__":
    bin_dir = ensure_environment()
    os.chdir(ROOT)
    command = [str(bin_dir / "suggestions"), "dev", *sys.argv[1:]]
    os.execv(command[0], command)
