"""The production server, started as operators start it, for tests that need real workers."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def start_gunicorn(env, *, stdout, stderr=subprocess.STDOUT):
    """gunicorn with the project's gunicorn.conf.py (GUNICORN_BIND and the rest come from env)."""
    return subprocess.Popen(  # noqa: S603 (our own server)
        [str(Path(sys.executable).parent / "gunicorn"), "--config", "gunicorn.conf.py", "kb.wsgi:application"],
        cwd=ROOT,
        env=env,
        stdout=stdout,
        stderr=stderr,
    )
