"""Regenerate the demo PKI of the service, signing and batch examples (demo only: throw-away
keys).

    python examples/make_service_examples.py

Writes, for each of mail, wifi, vpn, exchange and mail-mismatch: certs/root.pem and
certs/issuing.pem (Example Corp's CA), the identities the example uses (.p12, exported
the way OpenSSL 3 does by default, PBES2/AES-256, so the build shows it re-encoding them),
the server certificates the example checks, and demo-password.txt where an identity
needs one. The profile.yaml and
README.md of each example are written by hand and not touched here.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

HERE = Path(__file__).resolve().parent
START = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DEMO_PASSWORD = "demo-only-not-a-secret"  # noqa: S105 - a published demo value
SERVER_START = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)  # server certificates: at most 825 days


def _name(cn: str) -> x509.Name:
    return x509.Name([
        x509.NameAttribute(NameOID.COUNTRY_NAME, "US"),
        x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Example Corp"),
        x509.NameAttribute(NameOID.COMMON_NAME, cn),
    ])


def _usage(*, ca: bool, encipher: bool = False) -> x509.KeyUsage:
    return x509.KeyUsage(digital_signature=not ca, content_commitment=False,
                         key_encipherment=encipher, data_encipherment=False, key_agreement=False,
                         key_cert_sign=ca, crl_sign=ca, encipher_only=False, decipher_only=False)


def _cert(subject, key, issuer_name, issuer_key, start, days, *, ca, path_length=None,
          eku=None, dns=None, email=None):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(start).not_valid_after(start + dt.timedelta(days=days))
         .add_extension(x509.BasicConstraints(ca=ca, path_length=path_length), critical=True)
         .add_extension(_usage(ca=ca, encipher=not ca and isinstance(key, rsa.RSAPrivateKey)),
                        critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
                        critical=False))
    names = [x509.DNSName(n) for n in dns or []] + [x509.RFC822Name(e) for e in email or []]
    if names:
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return b.sign(issuer_key, hashes.SHA256())


def _pem(path: Path, cert: x509.Certificate) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _p12(path: Path, name: str, key, cert, chain) -> None:
    # OpenSSL 3's default encoding (PBES2/AES-256-CBC, SHA-256 MAC): what Apple devices
    # refuse, and what mobileconfig re-encodes (finding MC301).
    blob = pkcs12.serialize_key_and_certificates(
        name.encode(), key, cert, chain,
        serialization.BestAvailableEncryption(DEMO_PASSWORD.encode()))
    path.write_bytes(blob)


def _company(folder: Path):
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root = _cert(_name("Example Corp Root CA"), root_key, _name("Example Corp Root CA"), root_key,
                 START, 20 * 365, ca=True)
    issuing_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    issuing = _cert(_name("Example Corp Issuing CA"), issuing_key, root.subject, root_key, START,
                    10 * 365, ca=True, path_length=0)
    _pem(folder / "certs" / "root.pem", root)
    _pem(folder / "certs" / "issuing.pem", issuing)
    return issuing, issuing_key


def _server(folder: Path, filename: str, names: list[str], issuing, issuing_key) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    cert = _cert(_name(names[0]), key, issuing.subject, issuing_key, SERVER_START, 790,
                 ca=False, eku=[ExtendedKeyUsageOID.SERVER_AUTH], dns=names)
    _pem(folder / "server" / filename, cert)


def _identity(folder: Path, filename: str, cn: str, issuing, issuing_key, *, eku, email=None):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = _cert(_name(cn), key, issuing.subject, issuing_key, START, 4 * 365, ca=False,
                 eku=eku, email=email)
    _p12(folder / filename, cn, key, cert, [issuing])
    (folder / "demo-password.txt").write_text(DEMO_PASSWORD + "\n")


def _signing(folder: Path) -> None:
    """A profile-signing identity from a private CA, and a device identity to encrypt to."""
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    root = _cert(_name("Example Corp Signing Root"), root_key, _name("Example Corp Signing Root"),
                 root_key, START, 20 * 365, ca=True)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca = _cert(_name("Example Corp Profile Signing CA"), ca_key, root.subject, root_key, START,
               10 * 365, ca=True, path_length=0)
    _pem(folder / "root.pem", root)
    signer_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    signer = _cert(_name("profiles.example.com"), signer_key, ca.subject, ca_key, START,
                   5 * 365, ca=False, eku=[ExtendedKeyUsageOID.CODE_SIGNING])
    _p12(folder / "signer.p12", "profile signer", signer_key, signer, [ca])
    device_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    device = _cert(_name("Device 0042"), device_key, ca.subject, ca_key, START, 5 * 365,
                   ca=False, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    _pem(folder / "device.pem", device)
    _p12(folder / "device.p12", "device 0042", device_key, device, [ca])
    (folder / "demo-password.txt").write_text(DEMO_PASSWORD + "\n")


def main() -> None:
    mail = HERE / "mail"
    issuing, ikey = _company(mail)
    _identity(mail, "alice.p12", "Alice Example", issuing, ikey,
              eku=[ExtendedKeyUsageOID.EMAIL_PROTECTION], email=["alice@example.com"])
    _server(mail, "mail.example.com.pem", ["mail.example.com"], issuing, ikey)

    wifi = HERE / "wifi"
    issuing, ikey = _company(wifi)
    _server(wifi, "radius.example.com.pem", ["radius.example.com"], issuing, ikey)
    (wifi / "demo-challenge.txt").write_text("demo-scep-challenge-not-a-secret\n")

    vpn = HERE / "vpn"
    issuing, ikey = _company(vpn)
    _identity(vpn, "laptop.p12", "laptop-0042.example.com", issuing, ikey,
              eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
    _server(vpn, "vpn.example.com.pem", ["vpn.example.com"], issuing, ikey)

    exchange = HERE / "exchange"
    issuing, ikey = _company(exchange)
    _identity(exchange, "bob.p12", "Bob Example", issuing, ikey,
              eku=[ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.EMAIL_PROTECTION],
              email=["bob@example.com"])
    _server(exchange, "outlook.example.com.pem", ["outlook.example.com"], issuing, ikey)

    mismatch = HERE / "mail-mismatch"
    issuing, ikey = _company(mismatch)
    # The hosting provider's certificate: it names the provider's machines, not mail.example.com.
    _server(mismatch, "provider.pem", ["host42.mailhost.example.net", "mailhost.example.net"],
            issuing, ikey)
    signing = HERE / "signing"
    _signing(signing)

    batch = HERE / "batch"
    _company(batch)
    print("wrote the demo PKI of mail, wifi, vpn, exchange, mail-mismatch, signing and batch")


if __name__ == "__main__":
    main()
