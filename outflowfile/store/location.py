"""Where the cache lives and how long to wait for it: the project's own
SQLite file or a database URL, the filesystem under an SQLite file (which
decides its journal mode), and the lock timeout."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from outflowfile.errors import UserError

if TYPE_CHECKING:
    from sqlalchemy.engine import URL

# The project's own cache, relative to the project directory.
OWN_FILE = Path(".outflow") / "outflow.db"

DEFAULT_TIMEOUT = 30.0  # seconds to wait for a locked SQLite database
TIMEOUT_VARIABLE = "OUTFLOW_DB_TIMEOUT"

# Filesystems on which SQLite's WAL mode is unsafe (its shared memory index
# needs all writers on one host): use the rollback journal there.
NETWORK_FILESYSTEMS = frozenset(
    {
        "nfs", "nfs4", "cifs", "smb", "smb2", "smb3", "smbfs", "lustre", "gpfs",
        "beegfs", "ceph", "cephfs", "glusterfs", "panfs", "afs", "ocfs2", "gfs2",
        "9p", "pvfs2", "orangefs", "wekafs", "davfs", "sshfs", "s3fs", "rclone",
    }
)  # fmt: skip


def lock_timeout() -> float:
    """How long to wait for an SQLite cache another process has locked:
    ``OUTFLOW_DB_TIMEOUT`` seconds, else 30."""
    text = os.environ.get(TIMEOUT_VARIABLE, "").strip()
    if not text:
        return DEFAULT_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also NaN
        raise UserError(f"{TIMEOUT_VARIABLE}={text}: expected a number of seconds")
    return value


def is_network_filesystem(fstype: str) -> bool:
    name = fstype.lower()
    if name.startswith("fuse."):
        name = name[len("fuse.") :]
    return name in NETWORK_FILESYSTEMS or name.startswith("nfs")


def filesystem_type(path: Path) -> str:
    """The type of the filesystem holding ``path`` (the longest mount point above it)."""
    import psutil

    real = os.path.realpath(path)
    best, fstype = "", ""
    for part in psutil.disk_partitions(all=True):
        mount = part.mountpoint
        inside = real == mount or real.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, fstype = mount, part.fstype
    return fstype


def sqlite_files(project_dir: Path, url: str | None) -> list[Path]:
    """The files of an SQLite cache (the database, its journals and outflow's
    lock beside it), or [] for a database server: read from the URL as
    ``database_url`` does, without SQLAlchemy."""
    if url is None:
        path = project_dir / OWN_FILE
    elif "://" not in url:
        path = project_dir / url
    elif url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = project_dir / url[len("sqlite:///"):].split("?")[0]
    else:
        return []
    return [path.with_name(path.name + suffix)
            for suffix in ("", "-wal", "-shm", "-journal", ".lock")]


def database_url(project_dir: Path, url: str | None) -> URL:
    """The SQLAlchemy URL; SQLite paths relative to the project directory."""
    import sqlalchemy as sa
    from sqlalchemy import exc as sa_exc
    from sqlalchemy.engine import URL

    if url is None:
        path = project_dir / OWN_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        return URL.create("sqlite", database=str(path))
    if "://" not in url:  # a bare path: an SQLite file
        return URL.create("sqlite", database=str(project_dir / url))
    try:
        parsed = sa.make_url(url)
    except (sa_exc.ArgumentError, ValueError):
        raise UserError(
            f"{url!r} is not a database URL",
            hint="use sqlite:///path/to/file.db or postgresql://user:password@host:port/database",
        ) from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        parsed = parsed.set(database=str(project_dir / parsed.database))
    return parsed
