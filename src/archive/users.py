"""Users of the web application: accounts with a role, argon2 password hashes, API tokens
(only their SHA-256 is stored) and a throttle that slows down repeated failed logins.

Every change is written to the audit log by the functions here, so neither the CLI nor the web
layer can forget one."""

from __future__ import annotations

import hashlib
import re
import secrets
import threading
import time
from dataclasses import asdict, dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from archive.catalog import audit, now_text, transaction
from archive.errors import ArchiveError, ConflictError, NotFoundError, UsageError
from archive.home import Home

ROLES: dict[str, str] = {
    "caseworker": "经办人",
    "archivist": "档案员",
    "inspector": "督查",
    "admin": "管理员",
}
MIN_PASSWORD = 8
TOKEN_PREFIX = "arc_"
ANONYMOUS = "未登录用户"  # the operator of audit entries made before anyone is logged in
_NAME = re.compile(r"[\w\u4e00-\u9fff.\-]{1,32}")
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# verified against when the user does not exist, so that a wrong name costs the same time
_DUMMY_HASH = _hasher.hash("no such user: constant-time answer")


class AuthError(ArchiveError):
    """A login or token that is not accepted. The message never says which part was wrong."""


@dataclass
class User:
    name: str
    role: str
    disabled: bool
    created_at: str
    last_login: str | None
    township: str | None = None  # a county home's account limited to this township; None: not limited

    @property
    def role_title(self) -> str:
        return ROLES.get(self.role, self.role)

    @property
    def county_wide(self) -> bool:
        """Sees every township of a county home (an account not limited to one)."""
        return self.township is None

    def to_json(self) -> dict[str, object]:
        return dict(asdict(self), role_title=self.role_title)


def _user(row) -> User:
    return User(row["name"], row["role"], bool(row["disabled"]), row["created_at"], row["last_login"],
                row["township"])


def check_role(role: str) -> str:
    if role not in ROLES:
        choices = "、".join(f"{key}（{title}）" for key, title in ROLES.items())
        raise ArchiveError(f"角色「{role}」不存在，可选：{choices}")
    return role


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise ArchiveError(f"密码太短：至少 {MIN_PASSWORD} 个字符")
    if password.strip() != password:
        raise ArchiveError("密码的开头和结尾不能是空格")
    return password


def get_user(home: Home, name: str) -> User:
    row = home.db.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
    if row is None:
        raise NotFoundError(f"没有用户「{name}」", hint="用 archive user list 查看已有用户")
    return _user(row)


def list_users(home: Home) -> list[User]:
    return [_user(row) for row in home.db.execute("SELECT * FROM users ORDER BY name")]


def check_scope(home: Home, role: str, township: str | None) -> str | None:
    """The township an account is limited to, as stored: on a county home (accounts live in the
    county's catalog, archive.county) one of its townships, required for a caseworker or an
    archivist (their work is one township's); on a township home nothing (every account is that
    township's: naming it is accepted, naming another is refused)."""
    from archive.county import CountyHome

    wanted = (township or "").strip() or None
    if isinstance(home, CountyHome):
        if wanted is None:
            if role in ("caseworker", "archivist"):
                raise UsageError(f"县级档案库的{ROLES[role]}须指定所属乡镇（--township）",
                                 hint="现有乡镇：" + ("、".join(home.townships) or "无"))
            return None
        return home.find_township(wanted)
    if wanted is not None and wanted not in (home.config.township, home.config.township_short):
        raise UsageError(f"档案库 {home.root} 是{home.config.township}的档案库，没有乡镇「{wanted}」")
    return None


def add_user(home: Home, name: str, role: str, password: str, township: str | None = None) -> User:
    if not _NAME.fullmatch(name or ""):
        raise ArchiveError(f"用户名「{name}」不合适：1 到 32 个汉字、字母、数字或 . _ -，不含空格")
    check_role(role)
    check_password(password)
    scope = check_scope(home, role, township)
    digest = _hasher.hash(password)
    with transaction(home.db):
        if home.db.execute("SELECT 1 FROM users WHERE name=?", (name,)).fetchone():
            raise ConflictError(f"用户「{name}」已存在")
        home.db.execute("INSERT INTO users(name, role, password_hash, township) VALUES (?,?,?,?)",
                        (name, role, digest, scope))
        audit(home.db, home.operator, "user.add", name, {"role": role, **({"township": scope} if scope else {})})
    return get_user(home, name)


def set_password(home: Home, name: str, password: str) -> None:
    check_password(password)
    digest = _hasher.hash(password)
    with transaction(home.db):
        if home.db.execute("UPDATE users SET password_hash=? WHERE name=?", (digest, name)).rowcount == 0:
            raise NotFoundError(f"没有用户「{name}」")
        audit(home.db, home.operator, "user.password", name)


def _refuse_last_admin(home: Home, name: str) -> None:
    """Refuse to take away the last active administrator (nobody could manage users after)."""
    row = home.db.execute("SELECT role, disabled FROM users WHERE name=?", (name,)).fetchone()
    if row is None or row["role"] != "admin" or row["disabled"]:
        return
    others = home.db.execute("SELECT count(*) FROM users WHERE role='admin' AND disabled=0 AND name<>?",
                             (name,)).fetchone()[0]
    if others == 0:
        raise ConflictError(f"「{name}」是唯一可用的管理员，不能停用或改为其他角色",
                            hint="请先添加另一位管理员")


def set_role(home: Home, name: str, role: str) -> User:
    """Give a user another role (audited with the old and new role)."""
    check_role(role)
    with transaction(home.db):
        old = get_user(home, name)
        check_scope(home, role, old.township)  # a county caseworker or archivist keeps a township
        if old.role != role:
            _refuse_last_admin(home, name)
            home.db.execute("UPDATE users SET role=? WHERE name=?", (role, name))
            audit(home.db, home.operator, "user.role", name, {"from": old.role, "to": role})
    return get_user(home, name)


def disable_user(home: Home, name: str) -> User:
    """Disable an account: its sessions and tokens stop working at the next request."""
    with transaction(home.db):
        _refuse_last_admin(home, name)
        if home.db.execute("UPDATE users SET disabled=1 WHERE name=?", (name,)).rowcount == 0:
            raise NotFoundError(f"没有用户「{name}」", hint="用 archive user list 查看已有用户")
        dropped = home.db.execute("DELETE FROM api_tokens WHERE user_name=?", (name,)).rowcount
        audit(home.db, home.operator, "user.disable", name, {"tokens_revoked": dropped})
    return get_user(home, name)


def authenticate(home: Home, name: str, password: str) -> User:
    """The user, if the password is right and the account is enabled; else AuthError. The login
    (and a failure) is written to the audit log under the name that was tried."""
    row = home.db.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
    usable = row is not None and bool(row["password_hash"]) and not row["disabled"]
    stored = row["password_hash"] if usable else _DUMMY_HASH  # the same work either way
    try:
        ok = _hasher.verify(stored, password) and usable
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        ok = False
    with transaction(home.db):
        if not ok:
            audit(home.db, ANONYMOUS, "login.failed", name[:64])
        else:
            home.db.execute("UPDATE users SET last_login=? WHERE name=?", (now_text(), name))
            if _hasher.check_needs_rehash(stored):
                home.db.execute("UPDATE users SET password_hash=? WHERE name=?", (_hasher.hash(password), name))
            audit(home.db, name, "login", name)
    if not ok:
        raise AuthError("用户名或密码不对，或账号已停用")
    return get_user(home, name)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token(home: Home, name: str) -> str:
    """A new API token for the user. Only its SHA-256 is stored: it is shown once."""
    user = get_user(home, name)
    if user.disabled:
        raise ConflictError(f"用户「{name}」已停用，不能发放令牌")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction(home.db):
        home.db.execute("INSERT INTO api_tokens(token_sha256, user_name) VALUES (?,?)", (token_digest(token), name))
        audit(home.db, home.operator, "user.token", name)
    return token


def user_for_token(home: Home, token: str) -> User | None:
    """The enabled user an API token belongs to, or None."""
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = home.db.execute(
        "SELECT u.* FROM api_tokens t JOIN users u ON u.name = t.user_name WHERE t.token_sha256=?",
        (token_digest(token),)).fetchone()
    if row is None or row["disabled"]:
        return None
    return _user(row)


def active_user(home: Home, name: str) -> User | None:
    """The user of a session, or None if the account is gone or disabled since login."""
    row = home.db.execute("SELECT * FROM users WHERE name=?", (name,)).fetchone()
    if row is None or row["disabled"]:
        return None
    return _user(row)


class LoginThrottle:
    """Slows down repeated failed logins, per user name and per client address.

    After `free` failures in a row for a key, each further attempt must wait: 1 s, 2 s, 4 s, …
    up to `ceiling`. A success clears the user's key (the address keeps its count, so one
    account cannot be used to reset guessing at others). In memory: a restart forgets, which
    only helps someone who can restart the server."""

    def __init__(self, free: int = 3, ceiling: float = 900.0, clock=time.monotonic) -> None:
        self.free = free
        self.ceiling = ceiling
        self.clock = clock
        self._state: dict[str, tuple[int, float]] = {}
        self._lock = threading.Lock()

    def wait_seconds(self, *keys: str) -> float:
        """How long the caller must still wait before another attempt (0 if it may try now)."""
        now = self.clock()
        with self._lock:
            waits = [0.0]
            for key in keys:
                failures, last = self._state.get(key, (0, 0.0))
                if failures >= self.free:
                    delay = min(self.ceiling, 2.0 ** (failures - self.free))
                    waits.append(last + delay - now)
            return max(0.0, max(waits))

    def failed(self, *keys: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._state) > 100_000:  # bounded memory under a flood of names
                self._state.clear()
            for key in keys:
                failures, _ = self._state.get(key, (0, 0.0))
                self._state[key] = (failures + 1, now)

    def succeeded(self, key: str) -> None:
        with self._lock:
            self._state.pop(key, None)


DEMO_USERS = (("经办人演示", "caseworker"), ("档案员演示", "archivist"), ("督查演示", "inspector"),
              ("管理员演示", "admin"))


def add_demo_users(home: Home) -> list[tuple[User, str]]:
    """One user per role with a fresh random password, for a demo home only (the passwords are
    printed by `archive demo`; a real home gets its users with `archive user add`)."""
    made = []
    for name, role in DEMO_USERS:
        password = secrets.token_urlsafe(9)
        made.append((add_user(home, name, role, password), password))
    return made
