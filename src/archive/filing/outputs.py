"""Writing a filing output (归档文件目录, 盒脊与备考表, 卷内目录, 完整性报告) so that no printed
or kept version is ever lost: an output that already exists with other content is first copied to
`superseded/` next to it as `<name>.v<N><suffix>`, and the replacement is written to the audit log
with both digests and where the old version is kept.

Call inside the write transaction that files the month, so the audit row and the filing commit
together."""

from __future__ import annotations

import hashlib
from pathlib import Path

from archive import files
from archive.catalog import audit, file_digest
from archive.home import Home
from archive.sealing import register_output

SUPERSEDED = "superseded"


def superseded_path(path: Path) -> Path:
    """The first free `superseded/<stem>.v<N><suffix>` beside `path`."""
    folder = path.parent / SUPERSEDED
    version = 1
    while (candidate := folder / f"{path.stem}.v{version}{path.suffix}").exists():
        version += 1
    return candidate


def write_output(home: Home, path: Path, blob: bytes, purpose: str, kind: str) -> Path | None:
    """Write `blob` to `path`; keep and record any different version it replaces (registered as an
    output of kind `<kind>（被替换的版本）`, so verify checks it like any other).

    Returns where the replaced version is kept, or None when nothing was replaced."""
    new_digest = hashlib.sha256(blob).hexdigest()
    kept = None
    if path.exists():
        old_digest = file_digest(path)
        if old_digest == new_digest:
            return None
        kept = superseded_path(path)
        files.copy_atomic(path, kept)
        audit(home.db, home.operator, "filing.output.replace", str(path.relative_to(home.root)),
              {"purpose": purpose, "old_sha256": old_digest, "new_sha256": new_digest,
               "kept_as": str(kept.relative_to(home.root))})
        register_output(home.db, home.root, kept, f"{kind}（被替换的版本）", home.operator)
    files.write_atomic(path, blob)
    return kept
