"""A test PKI with a time-stamp authority, OCSP responder and CRLs, served on 127.0.0.1 only
(certomancer's animator under werkzeug, in a thread, stopped after the test)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

VALID = {"valid-from": "2020-01-01T00:00:00+0000", "valid-to": "2100-01-01T00:00:00+0000"}


def _config(folder: Path) -> dict:
    def usage(*names):
        return {"id": "key_usage", "critical": True, "smart-value": {"schema": "key-usage", "params": list(names)}}

    crl = {"id": "crl_distribution_points", "smart-value": {"schema": "crl-dist-url", "params": {"crl-repo-names": ["root"]}}}
    ocsp = {"id": "authority_information_access",
            "smart-value": {"schema": "aia-urls", "params": {"ocsp-responder-names": ["root"]}}}
    return {
        "keysets": {"test": {"path-prefix": str(folder), "keys": {
            label: {"path": f"{label}.key.pem"} for label in ("root", "tsa", "signer", "ocsp")}}},
        "pki-architectures": {"township": {
            "keyset": "test",
            "entity-defaults": {"country-name": "CN", "organization-name": "青岩镇人民政府"},
            "entities": {"root": {"common-name": "测试根证书"}, "tsa": {"common-name": "测试时间戳服务"},
                         "signer": {"common-name": "青岩镇人民政府 审批签章"}, "ocsp": {"common-name": "测试 OCSP"}},
            "certs": {
                "root": {"subject": "root", "subject-key": "root", "issuer": "root", "authority-key": "root",
                         "validity": VALID,
                         "extensions": [{"id": "basic_constraints", "critical": True, "value": {"ca": True}},
                                        usage("digital_signature", "key_cert_sign", "crl_sign")]},
                "ocsp": {"issuer": "root", "validity": VALID,
                         "extensions": [usage("digital_signature"),
                                        {"id": "extended_key_usage", "critical": True, "value": ["ocsp_signing"]},
                                        {"id": "ocsp_no_check"}]},
                "tsa": {"issuer": "root", "validity": VALID,
                        "extensions": [usage("digital_signature"),
                                       {"id": "extended_key_usage", "critical": True, "value": ["time_stamping"]},
                                       crl]},
                "signer": {"issuer": "root", "validity": VALID,
                           "extensions": [usage("digital_signature", "non_repudiation"), crl, ocsp]},
            },
            "services": {
                "ocsp": {"root": {"for-issuer": "root", "responder-cert": "ocsp", "signing-key": "ocsp"}},
                "crl-repo": {"root": {"for-issuer": "root", "signing-key": "root", "simulated-update-schedule": "P90D"}},
                "time-stamping": {"tsa": {"signing-key": "tsa", "signing-cert": "tsa"}},
            },
        }},
    }


@dataclass
class LocalPKI:
    url: str
    tsa_url: str
    arch: object

    def signer_p12(self, path: Path, password: str) -> Path:
        path.write_bytes(self.arch.package_pkcs12("signer", password=password.encode("utf-8")))
        return path

    def root_der(self, path: Path) -> Path:
        path.write_bytes(self.arch.get_cert("root").dump())
        return path


@contextmanager
def local_pki(folder: Path) -> Iterator[LocalPKI]:
    """Start the PKI's services on a free loopback port; stop them on exit."""
    from certomancer.integrations.animator import Animator, AnimatorArchStore
    from certomancer.registry import CertomancerConfig
    from werkzeug.serving import make_server

    folder.mkdir(parents=True, exist_ok=True)
    for label in ("root", "tsa", "signer", "ocsp"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        (folder / f"{label}.key.pem").write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()))
    holder: dict = {}
    server = make_server("127.0.0.1", 0, lambda environ, start: holder["app"](environ, start), threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    config = CertomancerConfig(_config(folder), key_search_dir=str(folder), external_url_prefix=url)
    arch = config.get_pki_arch("township")
    holder["app"] = Animator(AnimatorArchStore(config.pki_archs), with_web_ui=False)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield LocalPKI(url, f"{url}/township/tsa/tsa", arch)
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
