"""Which roles may use which route: one table, read by every route at start-up (a route
missing from it raises KeyError when the application is built, so none can be forgotten).

`write` marks routes that change something; an inspector (督查) is never allowed one, which
the tests check over the whole table."""

from __future__ import annotations

from dataclasses import dataclass

CASEWORKER, ARCHIVIST, INSPECTOR, ADMIN = "caseworker", "archivist", "inspector", "admin"
EVERYONE = frozenset({CASEWORKER, ARCHIVIST, INSPECTOR, ADMIN})
CASEWORKERS = frozenset({CASEWORKER, ADMIN})
ARCHIVISTS = frozenset({ARCHIVIST, ADMIN})


@dataclass(frozen=True)
class Rule:
    roles: frozenset[str]
    write: bool = False


ROUTE_ROLES: dict[str, Rule] = {
    # pages
    "home": Rule(EVERYONE),
    "search": Rule(EVERYONE),            # POST only to keep the query (an ID number) out of the URL
    "households": Rule(EVERYONE),        # POST only to keep a typed ID number out of the URL
    "household": Rule(EVERYONE),
    "export": Rule(EVERYONE),            # a download for an inspection (POST: a list of households)
    "sample": Rule(EVERYONE),            # the spot check and its pull list
    "sample.pdf": Rule(EVERYONE),
    "document": Rule(EVERYONE),
    "document.page": Rule(EVERYONE),
    "document.pdf": Rule(EVERYONE),
    "month": Rule(EVERYONE),
    "shelves": Rule(EVERYONE),
    "shelves.box": Rule(EVERYONE),
    # generating documents: form, draft preview (样稿, nothing numbered), issue, reprint, void
    "generate": Rule(CASEWORKERS),
    "generate.preview": Rule(CASEWORKERS, write=True),   # writes only a draft under cache/
    "generate.preview.page": Rule(CASEWORKERS),
    "generate.preview.pdf": Rule(CASEWORKERS),
    "generate.issue": Rule(CASEWORKERS, write=True),
    "document.reprint": Rule(CASEWORKERS, write=True),
    "document.void": Rule(CASEWORKERS, write=True),
    # batches: one document for many households, one merged PDF
    "batch": Rule(CASEWORKERS),
    "batch.list": Rule(CASEWORKERS, write=True),   # changes nothing; the form is POSTed
    "batch.run": Rule(CASEWORKERS, write=True),
    "batch.pdf": Rule(CASEWORKERS),
    # roster import
    "roster": Rule(CASEWORKERS),
    "roster.import": Rule(CASEWORKERS, write=True),
    # the archivist: scans uploaded in the browser, the review queue
    "scans": Rule(ARCHIVISTS),
    "scans.upload": Rule(ARCHIVISTS, write=True),
    "review": Rule(ARCHIVISTS),
    "review.pick": Rule(ARCHIVISTS, write=True),   # changes nothing; POST keeps a typed ID out of the URL
    "review.assign": Rule(ARCHIVISTS, write=True),
    "review.reject": Rule(ARCHIVISTS, write=True),
    # the administrator: users and roles
    "admin.users": Rule(frozenset({ADMIN})),
    "admin.users.add": Rule(frozenset({ADMIN}), write=True),
    "admin.users.role": Rule(frozenset({ADMIN}), write=True),
    "admin.users.password": Rule(frozenset({ADMIN}), write=True),
    "admin.users.disable": Rule(frozenset({ADMIN}), write=True),
    # background jobs (archive.jobs): the list, a job's page, its progress (polled), JSON and rows
    # for static/upload.js, the 四性检测 report; starting one is a write
    "jobs": Rule(EVERYONE),
    "job": Rule(EVERYONE),
    "job.progress": Rule(EVERYONE),
    "job.json": Rule(EVERYONE),
    "job.rows": Rule(EVERYONE),
    "job.report": Rule(EVERYONE),
    "scans.ingest": Rule(ARCHIVISTS, write=True),
    "month.file": Rule(ARCHIVISTS, write=True),
    "month.reopen": Rule(ARCHIVISTS, write=True),
    "month.download": Rule(EVERYONE),
    "document.xlsx": Rule(EVERYONE),
    "verify": Rule(ARCHIVISTS),
    "verify.start": Rule(ARCHIVISTS, write=True),
    "admin.reindex": Rule(frozenset({ADMIN}), write=True),
    # the administrator: office settings, the seal and the signers
    "admin.settings": Rule(frozenset({ADMIN})),
    "admin.settings.save": Rule(frozenset({ADMIN}), write=True),
    "admin.signers": Rule(frozenset({ADMIN})),
    "admin.signers.add": Rule(frozenset({ADMIN}), write=True),
    "admin.seal": Rule(frozenset({ADMIN}), write=True),
    # a county home: the township the pages work in (a view choice in the session)
    "township.pick": Rule(EVERYONE),
    # JSON API
    "api.me": Rule(EVERYONE),
    "api.search": Rule(EVERYONE),
    "api.household": Rule(EVERYONE),
    "api.documents.create": Rule(frozenset({CASEWORKER, ADMIN}), write=True),
    "api.documents.pdf": Rule(EVERYONE),
    "api.scans.upload": Rule(frozenset({ARCHIVIST, ADMIN}), write=True),
}


def allowed(name: str, role: str) -> bool:
    return role in ROUTE_ROLES[name].roles
