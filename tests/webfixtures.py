"""A small archive home with one user per role and a generated notice, for the web tests."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

from starlette.testclient import TestClient

from archive import sample
from archive.config import Config
from archive.documents.generate import Generator
from archive.home import Home, init_home
from archive.roster.importer import import_roster
from archive.users import add_user

PASSWORD = "口令-correct-horse"
ROLES = ("caseworker", "archivist", "inspector", "admin")
NOTICE_DATE = dt.date(2025, 7, 8)
# an 18-character ID number (GB 11643 shape), anywhere in a string
ID_NUMBER = re.compile(r"(?<!\d)\d{17}[\dXx](?!\d)")


@dataclass
class WebHome:
    root: Path
    head_id: str
    head_name: str
    doc_id: str

    def user(self, role: str) -> str:
        return f"{role}-user"


def make_web_home(folder: Path) -> WebHome:
    township = sample.make_township(12, dt.date(2025, 7, 1), seed=3)
    config = Config(fonds="Z109", county="花溪区", township="青岩镇", villages=list(sample.VILLAGES),
                    complaint_phone="0851-83200000", office_phone="0851-83200001")
    home = init_home(folder / "home", config)
    try:
        import_roster(home.db, sample.write_roster_xlsx(township, folder / "roster.xlsx"), home.config, "tester")
        head = next(h for h in township if h.status == "在保" and len(h.members) >= 2)
        notice = Generator(home).household_document(
            "refusal", head.head.id_number, NOTICE_DATE,
            {"reason": "家庭人均收入高于当地最低生活保障标准", "apply_date": "2025-06-20"})
        for role in ROLES:
            add_user(home, f"{role}-user", role, PASSWORD)
    finally:
        home.close()
    return WebHome(folder / "home", head.head.id_number, head.head.name, notice.doc_id)


def open_home(web: WebHome) -> Home:
    return Home(web.root)


def login(client: TestClient, name: str, password: str = PASSWORD):
    client.get("/login")
    return client.post("/login", data={"username": name, "password": password,
                                       "csrftoken": client.cookies.get("csrftoken", "")},
                       follow_redirects=False)


def csrf(client: TestClient) -> str:
    return client.cookies.get("csrftoken", "")


def urls_in(html: str) -> list[str]:
    """Every address a page links to, loads or submits to."""
    return re.findall(r'(?:href|src|action|hx-get|hx-post)="([^"]*)"', html)


def client_for(app, web: WebHome, role: str) -> TestClient:
    """A test client logged in as the home's user of `role`."""
    client = TestClient(app)
    assert login(client, web.user(role)).status_code == 303
    return client


def finished_job(response, timeout: float = 300) -> int:
    """The job a start request led to (its page, after the redirect), once it has finished."""
    from archive import jobs

    match = re.search(r"/jobs/(\d+)$", str(response.url))
    assert match, (response.status_code, response.text[:300])
    job_id = int(match.group(1))
    assert jobs.wait(job_id, timeout), f"job {job_id} did not finish"
    return job_id
