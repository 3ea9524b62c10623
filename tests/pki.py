"""A test PKI built in memory: every kind of certificate the validator must judge.

``issue(...)`` makes one certificate with every knob a broken chain needs; ``TestPKI``
keeps keys so children can be issued. Nothing here is mocked: these are real keys and
signatures. SHA-1 and MD5 signatures, which cryptography refuses to make, come from
the ``openssl`` command (see ``openssl_resign``).
"""

from __future__ import annotations

import datetime as dt
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

#: Every test pins time to this instant.
NOW = dt.datetime(2026, 6, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)

KeyKind = Literal["rsa2048", "rsa1024", "rsa3072", "ec256", "ec384", "ec224"]
PrivateKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

_KEY_CACHE: dict[tuple[KeyKind, int], PrivateKey] = {}


def make_key(kind: KeyKind = "ec256", slot: int | None = None) -> PrivateKey:
    """A fresh key; with ``slot``, the same key every time (RSA generation is slow)."""
    if slot is not None and (kind, slot) in _KEY_CACHE:
        return _KEY_CACHE[(kind, slot)]
    key: PrivateKey
    if kind.startswith("rsa"):
        key = rsa.generate_private_key(public_exponent=65537, key_size=int(kind[3:]))
    else:
        curve = {"ec256": ec.SECP256R1(), "ec384": ec.SECP384R1(), "ec224": ec.SECP224R1()}[kind]
        key = ec.generate_private_key(curve)
    if slot is not None:
        _KEY_CACHE[(kind, slot)] = key
    return key


def name(cn: str, org: str = "Test Corp") -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
        ]
    )


@dataclass
class Issued:
    """A certificate and its private key."""

    cert: x509.Certificate
    key: PrivateKey
    children: list[Issued] = field(default_factory=list)

    @property
    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self) -> bytes:
        return self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )

    def write(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(self.pem)
        return path

    def issue(self, cn: str, **kwargs: object) -> Issued:
        child = issue(cn, issuer=self, **kwargs)  # type: ignore[arg-type]
        self.children.append(child)
        return child


def issue(
    cn: str,
    *,
    issuer: Issued | None = None,
    key: PrivateKey | None = None,
    key_kind: KeyKind = "ec256",
    ca: bool | None = True,
    path_length: int | None = None,
    key_cert_sign: bool | None = True,
    not_before: dt.datetime | None = None,
    not_after: dt.datetime | None = None,
    hash_alg: hashes.HashAlgorithm | None = None,
    ski: bool = True,
    aki: bool = True,
    subject: x509.Name | None = None,
    issuer_name: x509.Name | None = None,
    sign_with: PrivateKey | None = None,
    server_names: list[str] | None = None,
    eku: list[x509.ObjectIdentifier] | None = None,
    extra_extensions: list[tuple[x509.ExtensionType, bool]] = (),  # type: ignore[assignment]
    serial: int | None = None,
) -> Issued:
    """Make one certificate. Defaults give a valid CA (EC P-256, SHA-256) valid around NOW.

    ``issuer=None`` makes it self-signed. ``ca=None`` leaves out basicConstraints;
    ``key_cert_sign=None`` leaves out keyUsage. ``sign_with`` signs with a key other than
    the issuer's (a bad signature under the right name). ``issuer_name`` overrides the
    issuer field (a "root" that is not self-signed, for instance).
    """
    key = key or make_key(key_kind)
    subject = subject or name(cn)
    if issuer is None:
        signer_key = sign_with or key
        iname = issuer_name or subject
        issuer_key_pub = key.public_key()
    else:
        signer_key = sign_with or issuer.key
        iname = issuer_name or issuer.cert.subject
        issuer_key_pub = issuer.key.public_key()
    nb = not_before or NOW - 365 * DAY
    na = not_after or NOW + 3 * 365 * DAY
    b = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(iname)
        .public_key(key.public_key())
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(nb)
        .not_valid_after(na)
    )
    if ca is not None:
        b = b.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    if key_cert_sign is not None:
        leaf = not ca
        b = b.add_extension(
            x509.KeyUsage(
                digital_signature=leaf or not key_cert_sign,
                content_commitment=False,
                key_encipherment=leaf and isinstance(key, rsa.RSAPrivateKey),
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=bool(key_cert_sign) and bool(ca),
                crl_sign=bool(ca),
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    if ski:
        b = b.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False
        )
    if aki:
        b = b.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key_pub),
            critical=False,  # type: ignore[arg-type]
        )
    if server_names:
        b = b.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in server_names]), critical=False
        )
        if eku is None:
            eku = [ExtendedKeyUsageOID.SERVER_AUTH]
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    for ext, critical in extra_extensions:
        b = b.add_extension(ext, critical=critical)
    cert = b.sign(signer_key, hash_alg or hashes.SHA256())
    return Issued(cert, key)


def openssl_resign(child: Issued, issuer: Issued | None, digest: str = "sha1") -> Issued:
    """Re-sign ``child`` with ``digest`` (sha1, md5) using the ``openssl`` command line,
    which still makes the signatures cryptography refuses to. Same subject, key and
    validity; ``issuer=None`` re-signs it with its own key (self-signed)."""
    signer = issuer or child
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "child.pem").write_bytes(child.pem)
        (t / "child.key").write_bytes(child.key_pem)
        (t / "ca.pem").write_bytes(signer.pem)
        (t / "ca.key").write_bytes(signer.key_pem)
        (t / "ext.cnf").write_text(_ext_config(child.cert))
        nb = child.cert.not_valid_before_utc.strftime("%Y%m%d%H%M%SZ")
        na = child.cert.not_valid_after_utc.strftime("%Y%m%d%H%M%SZ")
        subj = "/" + "/".join(f"{a.rfc4514_attribute_name}={a.value}" for a in child.cert.subject)
        (t / "req.pem").write_bytes(
            subprocess.run(
                [
                    "openssl",
                    "req",
                    "-new",
                    "-key",
                    str(t / "child.key"),
                    "-subj",
                    subj,
                    "-outform",
                    "PEM",
                ],
                check=True,
                capture_output=True,
            ).stdout
        )
        (t / "index.txt").write_text("")
        hexserial = format(child.cert.serial_number, "X")
        (t / "serial").write_text(("0" * (len(hexserial) % 2)) + hexserial + "\n")
        policy = "".join(f"{a.rfc4514_attribute_name}=optional\n" for a in child.cert.subject)
        (t / "ca.cnf").write_text(
            f"[ca]\ndefault_ca=d\n[d]\ndatabase={t / 'index.txt'}\nnew_certs_dir={t}\n"
            f"serial={t / 'serial'}\npolicy=p\nunique_subject=no\nemail_in_dn=no\n"
            f"preserve=yes\n[p]\n{policy}"
        )
        cmd = [
            "openssl",
            "ca",
            "-batch",
            "-notext",
            "-config",
            str(t / "ca.cnf"),
            "-in",
            str(t / "req.pem"),
            "-md",
            digest,
            "-startdate",
            nb,
            "-enddate",
            na,
            "-extfile",
            str(t / "ext.cnf"),
            "-extensions",
            "v3",
            "-out",
            str(t / "out.pem"),
            "-keyfile",
            str(t / ("child.key" if issuer is None else "ca.key")),
        ]
        cmd += ["-selfsign"] if issuer is None else ["-cert", str(t / "ca.pem")]
        env = {"OPENSSL_CONF": "/dev/null", "PATH": "/usr/bin:/bin"}
        proc = subprocess.run(cmd, capture_output=True, env=env)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr.decode(errors="replace"))
        cert = x509.load_pem_x509_certificate((t / "out.pem").read_bytes())
    return Issued(cert, child.key)


def _ext_config(cert: x509.Certificate) -> str:
    lines = ["[v3]"]
    try:
        bc = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
        value = "critical,CA:TRUE" if bc.ca else "critical,CA:FALSE"
        if bc.ca and bc.path_length is not None:
            value += f",pathlen:{bc.path_length}"
        lines.append(f"basicConstraints={value}")
    except x509.ExtensionNotFound:
        pass
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        uses = []
        if ku.digital_signature:
            uses.append("digitalSignature")
        if ku.key_cert_sign:
            uses.append("keyCertSign")
        if ku.crl_sign:
            uses.append("cRLSign")
        if ku.key_encipherment:
            uses.append("keyEncipherment")
        if uses:
            lines.append("keyUsage=critical," + ",".join(uses))
    except x509.ExtensionNotFound:
        pass
    lines.append("subjectKeyIdentifier=hash")
    return "\n".join(lines) + "\n"


class TestPKI:
    """A small complete PKI: one root, one intermediate, one leaf, all valid at NOW."""

    __test__ = False  # not a pytest class

    def __init__(self, key_kind: KeyKind = "ec256", prefix: str = "Test") -> None:
        self.root = issue(f"{prefix} Root CA", key_kind=key_kind)
        self.intermediate = self.root.issue(
            f"{prefix} Issuing CA 1", key_kind=key_kind, path_length=0
        )
        self.leaf = self.intermediate.issue(
            f"{prefix} Server", key_kind=key_kind, ca=False, server_names=["mail.example.com"]
        )


def cross_certify(ca: Issued, by: Issued, **kwargs: object) -> Issued:
    """A cross-certificate: ``ca``'s subject and key, issued (signed) by ``by``.

    Devices can then reach ``by`` from anything ``ca`` issued, with or without ``ca``'s own
    self-signed certificate.
    """
    cn = ca.cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value
    child = issue(str(cn), issuer=by, key=ca.key, subject=ca.cert.subject, **kwargs)  # type: ignore[arg-type]
    by.children.append(child)
    return child


def with_duplicate_extension(child: Issued, issuer: Issued | None = None) -> Issued:
    """``child`` with its last extension repeated, re-signed by ``issuer`` (or itself): a
    certificate that parses, but whose extensions cannot be read (cryptography refuses to
    build one, so the TBS is edited with asn1crypto and signed with SHA-256)."""
    from asn1crypto import x509 as asn1_x509
    from cryptography.hazmat.primitives.asymmetric import padding

    signer = (issuer or child).key
    original = asn1_x509.Certificate.load(child.der)
    tbs = original["tbs_certificate"]
    extensions = list(tbs["extensions"])
    tbs["extensions"] = asn1_x509.Extensions([*extensions, extensions[-1]])
    tbs_der = tbs.dump(force=True)
    if isinstance(signer, rsa.RSAPrivateKey):
        signature = signer.sign(tbs_der, padding.PKCS1v15(), hashes.SHA256())
    else:
        signature = signer.sign(tbs_der, ec.ECDSA(hashes.SHA256()))
    edited = asn1_x509.Certificate(
        {
            "tbs_certificate": asn1_x509.TbsCertificate.load(tbs_der),
            "signature_algorithm": original["signature_algorithm"],
            "signature_value": signature,
        }
    )
    return Issued(x509.load_der_x509_certificate(edited.dump()), child.key)


def openssl_pkcs12(
    leaf: Issued,
    path: Path,
    password: str,
    *,
    chain: list[Issued] = (),  # type: ignore[assignment]
    legacy: bool = False,
) -> Path:
    """Export ``leaf`` (and ``chain``) with ``openssl pkcs12 -export``, OpenSSL 3's defaults
    (PBES2/AES-256-CBC, SHA-256 MAC) unless ``legacy`` (RC2-40 certificates, 3DES key).
    The password travels in the environment, never on the command line."""
    with tempfile.TemporaryDirectory() as tmp:
        t = Path(tmp)
        (t / "leaf.pem").write_bytes(leaf.pem)
        (t / "leaf.key").write_bytes(leaf.key_pem)
        cmd = ["openssl", "pkcs12", "-export", "-in", str(t / "leaf.pem"),
               "-inkey", str(t / "leaf.key"), "-passout", "env:P12PW", "-out", str(path)]
        if chain:
            (t / "chain.pem").write_bytes(b"".join(c.pem for c in chain))
            cmd += ["-certfile", str(t / "chain.pem")]
        if legacy:
            cmd += ["-legacy"]
        subprocess.run(cmd, check=True, capture_output=True,
                       env={"P12PW": password, "PATH": "/usr/bin:/bin"})
    return path
