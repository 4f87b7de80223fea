"""What a killed run leaves behind, repaired by the next ingest run.

- Temporary files `.NAME.PID.tmp` (files.write_atomic / copy_atomic) of a process that is gone,
  under documents/ and quarantine/: completed when the catalog records NAME with exactly these
  bytes and NAME is missing or wrong; otherwise removed (the write never became a record).
- Scan records left `processing`: when the quarantined copy exists (a kill between the move and
  its record, as older versions did it), the record is completed from it; when the source is
  gone and nothing was kept, the record says so (`missing`), and the same file arriving again is
  processed afresh.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from archive.catalog import FILE_COLUMNS, audit, file_digest, now_text, transaction
from archive.home import Home
from archive.processes import pid_alive

_TEMP = re.compile(r"^\.(?P<name>.+)\.(?P<pid>\d+)\.tmp$")


@dataclass
class Repair:
    path: str      # relative to the home
    reason: str    # Chinese


def repair(home: Home, lock: Callable[[str], bool]) -> list[Repair]:
    return repair_temp_files(home) + recover_processing(home, lock)


def _recorded(home: Home) -> dict[str, str]:
    """Relative path -> recorded SHA-256 of every file the catalog knows."""
    known: dict[str, str] = {}
    digests = {(row["doc_id"], row["kind"]): row["sha256"] for row in home.db.execute("SELECT * FROM files")}
    for row in home.db.execute(f"SELECT doc_id, {', '.join(FILE_COLUMNS)} FROM documents"):
        for column in FILE_COLUMNS:
            relative = row[column]
            if not relative:
                continue
            digest = digests.get((row["doc_id"], column)) or digests.get((row["doc_id"], "original_path"))
            if digest:
                known.setdefault(relative, digest)
    return known


def repair_temp_files(home: Home) -> list[Repair]:
    repairs: list[Repair] = []
    recorded: dict[str, str] | None = None
    for top in (home.documents_dir, home.root / "quarantine"):
        if not top.is_dir():
            continue
        for folder, _, names in os.walk(top):
            for name in names:
                match = _TEMP.match(name)
                if not match or pid_alive(int(match["pid"])):
                    continue
                temp = Path(folder) / name
                if temp.is_symlink() or not temp.is_file():
                    continue
                target = temp.with_name(match["name"])
                relative = str(target.relative_to(home.root))
                if recorded is None:
                    recorded = _recorded(home)
                wanted = recorded.get(relative)
                if wanted and file_digest(temp) == wanted and (not target.exists() or file_digest(target) != wanted):
                    os.replace(temp, target)
                    repairs.append(Repair(relative, "上次运行中断时未写完的文件，内容与目录登记的摘要一致，已补全"))
                else:
                    temp.unlink()
                    repairs.append(Repair(str(temp.relative_to(home.root)), "上次运行中断时遗留的临时文件，已删除"))
    if repairs:
        with transaction(home.db):
            audit(home.db, home.operator, "ingest.repair", "temp files", {"files": [r.path for r in repairs]})
    return repairs


def _reason_in(reason_file: Path) -> str:
    try:
        for line in reason_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("原因："):
                return line.removeprefix("原因：")
    except (OSError, UnicodeDecodeError):
        pass
    return ""


def recover_processing(home: Home, lock: Callable[[str], bool]) -> list[Repair]:
    repairs: list[Repair] = []
    quarantine = home.root / "quarantine"
    for row in home.db.execute("SELECT * FROM scans WHERE status='processing'").fetchall():
        digest = row["sha256"]
        if not lock(digest):
            continue  # another run works on it now
        kept = None
        if quarantine.is_dir():
            for candidate in sorted(quarantine.glob(f"*/{digest[:8]}-*")):
                if candidate.name.endswith(".原因.txt") or not candidate.is_file() or candidate.is_symlink():
                    continue
                if file_digest(candidate) == digest:
                    kept = candidate
                    break
        if kept is not None:
            reason = _reason_in(kept.with_name(kept.name + ".原因.txt")) or "上次导入在隔离时中断，隔离的文件已找到，原因未记下"
            relative = str(kept.relative_to(home.root))
            with transaction(home.db):
                home.db.execute("UPDATE scans SET status='quarantined', reason=?, quarantine_path=?, "
                                "updated_at=? WHERE sha256=?", (reason, relative, now_text(), digest))
                audit(home.db, home.operator, "ingest.recover", row["source_name"],
                      {"sha256": digest, "status": "quarantined", "quarantine_path": relative})
            repairs.append(Repair(relative, f"上次导入在隔离后、登记前中断，已补登记为隔离（{reason}）"))
            continue
        if Path(row["source_path"]).exists():
            continue  # still there: processed in this run or the next
        missing = "上次导入中断，原文件已不在原处，也未找到存档副本；如有原件，请重新放入收件箱"
        with transaction(home.db):
            home.db.execute("UPDATE scans SET status='missing', reason=?, updated_at=? "
                            "WHERE sha256=?", (missing, now_text(), digest))
            audit(home.db, home.operator, "ingest.recover", row["source_name"], {"sha256": digest, "status": "missing"})
        repairs.append(Repair(row["source_name"], missing))
    return repairs
