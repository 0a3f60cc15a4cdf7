"""What the benchmarks share: the bench database, the server environment, gunicorn."""

import http.client
import os
import statistics
import subprocess
import time
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/service_star_bench"


def ensure_database(url: str) -> None:
    """Create the PostgreSQL database named by ``url`` when it does not exist."""
    import psycopg2
    from psycopg2 import sql

    parsed = urlparse(url)
    name = parsed.path.lstrip("/")
    connection = psycopg2.connect(
        host=parsed.hostname,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        dbname="postgres",
    )
    connection.autocommit = True
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    connection.close()


def bench_env(host: str, **extra: str) -> dict[str, str]:
    """The environment of a benchmark's server: production settings plus the bench-only
    ceiling app (``bench.settings_bench``), plain HTTP on ``host``."""
    env = dict(os.environ)
    env.setdefault("DATABASE_URL", DEFAULT_DB)
    env.setdefault("SECRET_KEY", "bench-only-secret-key-0f9e8d7c6b5a4f3e2d1c0b9a8f7e6d5c")
    env.setdefault("PHONE_HASH_KEY", "bench-only-phone-hash-key")
    env.update(extra)
    env["ALLOWED_HOSTS"] = host
    env["SECURE_SSL_REDIRECT"] = "false"
    env["DJANGO_SETTINGS_MODULE"] = "bench.settings_bench"
    env["PYTHONPATH"] = str(ROOT)
    return env


def start_gunicorn(
    env: dict[str, str],
    *,
    host: str,
    port: int,
    workers: int,
    threads: int,
    timeout: int | None = None,
) -> subprocess.Popen:
    """Start gunicorn (gthread workers) and return once ``/healthz`` answers."""
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi:application",
        "--bind",
        f"{host}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "30",
        "--log-level",
        "warning",
    ]
    if timeout is not None:
        command += ["--timeout", str(timeout)]
    process = subprocess.Popen(command, cwd=ROOT, env=env)
    for _ in range(100):
        try:
            connection = http.client.HTTPConnection(host, port, timeout=1)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise SystemExit("gunicorn did not start")


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (1 to 99) of ``values``; 0 for fewer than two values."""
    return statistics.quantiles(values, n=100)[int(q) - 1] if len(values) > 1 else 0.0
