"""What PDF/A-2b costs a generated notice: the whole generation (PDF, DOCX, catalog) against the
PDF/A step alone (XMP, output intent, identifier; one pypdf rewrite)."""
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from archive import sample  # noqa: E402
from archive.config import Config  # noqa: E402
from archive.documents import pdfa  # noqa: E402
from archive.documents.generate import Generator  # noqa: E402
from archive.home import init_home  # noqa: E402
from archive.roster.importer import import_roster  # noqa: E402

tmp = Path(tempfile.mkdtemp(prefix="filing-bench-"))
township = sample.make_township(40, dt.date(2025, 7, 1), seed=3)
home = init_home(tmp / "home", Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES)))
import_roster(home.db, sample.write_roster_xlsx(township, tmp / "r.xlsx"), home.config, "t")
g = Generator(home)
heads = [h.head.id_number for h in township][:20]
g.household_document("refusal", heads[0], dt.date(2025, 7, 8), {"reason": "warm"})
t = time.perf_counter()
docs = [g.household_document("refusal", h, dt.date(2025, 7, 8), {"reason": "收入超标"}) for h in heads[1:]]
total = time.perf_counter() - t
blob = Path(docs[0].pdf).read_bytes()
t = time.perf_counter()
for _ in range(20):
    pdfa.to_pdfa(blob)
conv = (time.perf_counter() - t) / 20
print(f"19 notices: {total/19*1000:.0f} ms each; PDF/A step: {conv*1000:.1f} ms each ({len(blob)//1024} KB)")
