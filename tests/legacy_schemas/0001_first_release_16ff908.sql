-- the catalog DDL of archive.catalog._SCHEMA at commit 16ff908 (before migrations), kept to test adoption

CREATE TABLE IF NOT EXISTS households (
    id              TEXT PRIMARY KEY,          -- 户主身份证号
    village         TEXT NOT NULL,
    head_name       TEXT NOT NULL,
    category        TEXT NOT NULL,             -- 低保 / 特困 / 临时救助 / 低保边缘
    covered         INTEGER NOT NULL,          -- 保障人数
    amount          REAL NOT NULL,             -- 月保障金额(元)
    start_date      TEXT,                      -- 开始日期 (ISO)
    status          TEXT NOT NULL DEFAULT 'active',
    kin_filed       INTEGER NOT NULL DEFAULT 0,-- 近亲属备案
    phone           TEXT,
    address         TEXT,
    data_sha        TEXT NOT NULL,             -- digest of the imported fields, to see changes
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    updated_at      TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);
CREATE INDEX IF NOT EXISTS households_village ON households(village);

CREATE TABLE IF NOT EXISTS members (
    household_id    TEXT NOT NULL REFERENCES households(id),
    seq             INTEGER NOT NULL,
    name            TEXT NOT NULL,
    relation        TEXT NOT NULL,
    id_number       TEXT NOT NULL UNIQUE,
    PRIMARY KEY (household_id, seq)
);

CREATE TABLE IF NOT EXISTS roster_imports (
    sha256          TEXT PRIMARY KEY,
    file_name       TEXT NOT NULL,
    imported_at     TEXT NOT NULL DEFAULT (datetime('now','localtime')),
    households      INTEGER NOT NULL,
    members         INTEGER NOT NULL
);

CREATE TABLE IF NOT EXISTS sequences (
    code            TEXT NOT NULL,             -- 文号 type code, e.g. 不批
    year            INTEGER NOT NULL,
    last            INTEGER NOT NULL,
    PRIMARY KEY (code, year)
);

CREATE TABLE IF NOT EXISTS documents (
    doc_id          TEXT PRIMARY KEY,
    type            TEXT NOT NULL,             -- template id: refusal, approval, ...
    title           TEXT NOT NULL,
    household_id    TEXT REFERENCES households(id),
    village         TEXT,
    doc_date        TEXT NOT NULL,             -- ISO date printed on the document
    number          TEXT,                      -- 文号, e.g. 青岩民不批〔2025〕7号
    number_code     TEXT,
    number_year     INTEGER,
    number_seq      INTEGER,
    request_key     TEXT NOT NULL,             -- same request again = reprint, same number
    params          TEXT NOT NULL,             -- JSON of the values given with --set etc.
    context         TEXT NOT NULL,             -- JSON snapshot of what was printed, for reprints
    body_text       TEXT NOT NULL DEFAULT '',  -- the generated text, for search
    pages           INTEGER NOT NULL DEFAULT 0,
    pdf_path        TEXT,
    docx_path       TEXT,
    xlsx_path       TEXT,
    status          TEXT NOT NULL DEFAULT 'active',  -- active / voided
    void_reason     TEXT,
    replaces        TEXT REFERENCES documents(doc_id),
    created_at      TEXT NOT NULL DEFAULT (datetime('now','localtime'))
);
CREATE UNIQUE INDEX IF NOT EXISTS documents_number ON documents(number_code, number_year, number_seq)
    WHERE number_seq IS NOT NULL;
CREATE INDEX IF NOT EXISTS documents_household ON documents(household_id);
CREATE INDEX IF NOT EXISTS documents_request ON documents(request_key);

CREATE TABLE IF NOT EXISTS audit (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%f','now','localtime')),
    operator        TEXT NOT NULL,
    action          TEXT NOT NULL,
    target          TEXT,
    detail          TEXT
);

