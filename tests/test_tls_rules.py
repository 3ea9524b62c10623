"""Apple's TLS server certificate rules (mobileconfig.pki.tls), one broken rule at a time."""

from __future__ import annotations

import datetime as dt
import ipaddress
from collections.abc import Callable

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID

from mobileconfig.findings import Finding, Severity
from mobileconfig.pki.certs import Certificate
from mobileconfig.pki.tls import (
    certificate_names,
    check_server_certificate,
    matches_eap_name,
    matches_host,
)

from pki import DAY, NOW, Issued, issue, make_key, openssl_resign

HOST = "mail.example.com"


def rsa(slot: int) -> object:
    return make_key("rsa2048", slot=slot)


@pytest.fixture(scope="module")
def pki() -> dict[str, Issued]:
    root = issue(
        "TLS Root CA",
        key=make_key("rsa2048", slot=1),
        not_before=NOW - 3000 * DAY,
        not_after=NOW + 3000 * DAY,
    )
    inter = root.issue(
        "TLS Issuing CA",
        key=make_key("rsa2048", slot=2),
        path_length=0,
        not_before=NOW - 1000 * DAY,
        not_after=NOW + 2000 * DAY,
    )
    other = issue("Other Root CA", key=make_key("rsa2048", slot=4))
    return {"root": root, "inter": inter, "other": other}


def leaf(
    pki: dict[str, Issued],
    names: list[str] | None = None,
    *,
    days_before: int = 30,
    days_after: int = 365,
    **kw: object,
) -> Issued:
    options: dict[str, object] = {
        "key": make_key("rsa2048", slot=3),
        "ca": False,
        "server_names": [HOST] if names is None else names,
        "not_before": NOW - days_before * DAY,
        "not_after": NOW + days_after * DAY,
    }
    options.update(kw)
    return pki["inter"].issue(HOST, **options)


def C(i: Issued) -> Certificate:
    return Certificate(i.cert)


def check(
    pki: dict[str, Issued],
    server: Issued,
    *,
    host: str = HOST,
    with_intermediate: bool = True,
    **kw: object,
) -> list[Finding]:
    chain = [C(server), C(pki["inter"])] if with_intermediate else [C(server)]
    options: dict[str, object] = {"bundle": [C(pki["root"])], "at": NOW}
    options.update(kw)
    return check_server_certificate(host, chain, **options)  # type: ignore[arg-type]


def codes(found: list[Finding]) -> list[str]:
    return sorted(f.code for f in found)


def test_good_certificate_has_no_finding(pki: dict[str, Issued]) -> None:
    assert check(pki, leaf(pki)) == []


def test_good_ec_certificate_and_intermediate_from_the_bundle(pki: dict[str, Issued]) -> None:
    server = leaf(pki, key=make_key("ec256"))
    found = check_server_certificate(
        HOST, [C(server)], bundle=[C(pki["root"]), C(pki["inter"])], at=NOW
    )
    assert found == []


def test_name_mismatch_names_what_the_certificate_carries(pki: dict[str, Issued]) -> None:
    server = leaf(pki, ["host42.provider.net", "provider.net"])
    found = check(pki, server, setting="mail[0].incoming.host")
    assert codes(found) == ["MC501"]
    f = found[0]
    assert f.severity is Severity.ERROR
    assert "host42.provider.net, provider.net" in f.message
    assert "mail.example.com" in f.message
    assert "CN 'mail.example.com' is ignored" in f.message  # the CN says the host: not enough
    assert f.fix == (
        "Get a certificate for mail.example.com, or set mail[0].incoming.host to "
        "one of: host42.provider.net, provider.net."
    )
    assert f.certificate is not None and f.certificate.role == "server certificate"


def test_cn_only_certificate_is_refused(pki: dict[str, Issued]) -> None:
    server = pki["inter"].issue(
        HOST,
        key=make_key("rsa2048", slot=3),
        ca=False,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        not_before=NOW - 30 * DAY,
        not_after=NOW + 365 * DAY,
    )
    found = check(pki, server)
    assert codes(found) == ["MC501"]
    assert "no subjectAltName" in found[0].message and "ignored" in found[0].message


@pytest.mark.parametrize(
    ("pattern", "host", "ok"),
    [
        ("*.example.com", "mail.example.com", True),
        ("*.example.com", "MAIL.Example.COM.", True),
        ("*.example.com", "a.mail.example.com", False),
        ("*.example.com", "example.com", False),
        ("*.com", "example.com", False),
        ("m*.example.com", "mail.example.com", False),
        ("mail.example.com", "mail.example.com", True),
    ],
)
def test_wildcards_cover_one_label(
    pki: dict[str, Issued], pattern: str, host: str, ok: bool
) -> None:
    cert = C(leaf(pki, [pattern]))
    assert matches_host(cert, host) is ok


def test_ip_addresses_need_an_ipaddress_entry(pki: dict[str, Issued]) -> None:
    san = x509.SubjectAlternativeName(
        [x509.IPAddress(ipaddress.ip_address("192.0.2.7")), x509.DNSName("10.0.0.1")]
    )
    server = pki["inter"].issue(
        "vpn",
        key=make_key("rsa2048", slot=3),
        ca=False,
        eku=[ExtendedKeyUsageOID.SERVER_AUTH],
        extra_extensions=[(san, False)],
        not_before=NOW - DAY,
        not_after=NOW + 300 * DAY,
    )
    cert = C(server)
    assert certificate_names(cert) == ["192.0.2.7", "10.0.0.1"]
    assert matches_host(cert, "192.0.2.7")
    assert not matches_host(cert, "10.0.0.1")
    found = check(pki, server, host="10.0.0.1")
    assert codes(found) == ["MC501"]
    assert "iPAddress" in found[0].message


def test_missing_server_auth(pki: dict[str, Issued]) -> None:
    found = check(pki, leaf(pki, eku=[ExtendedKeyUsageOID.CLIENT_AUTH]))
    assert codes(found) == ["MC502"]
    assert "without serverAuth" in found[0].message and "clientAuth" in found[0].message


def test_no_eku_matters_only_after_2019_07_01(pki: dict[str, Issued]) -> None:
    san = x509.SubjectAlternativeName([x509.DNSName(HOST)])
    new = pki["inter"].issue(
        HOST,
        key=make_key("rsa2048", slot=3),
        ca=False,
        extra_extensions=[(san, False)],
        not_before=NOW - 30 * DAY,
        not_after=NOW + 365 * DAY,
    )
    assert codes(check(pki, new)) == ["MC502"]
    old = pki["inter"].issue(
        HOST,
        key=make_key("rsa2048", slot=3),
        ca=False,
        extra_extensions=[(san, False)],
        not_before=dt.datetime(2019, 6, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2019, 6, 1, tzinfo=dt.UTC) + 2800 * DAY,
    )
    assert check(pki, old) == []  # neither serverAuth nor 825 days applied before the rule


def test_rsa_1024(pki: dict[str, Issued]) -> None:
    found = check(pki, leaf(pki, key=make_key("rsa1024", slot=5)))
    assert codes(found) == ["MC503"]
    assert "RSA 1024 key" in found[0].message and "RSA keys of at least 2048" in found[0].message


@pytest.mark.parametrize(
    ("key", "says"),
    [
        (lambda: ec.generate_private_key(ec.SECP224R1()), "EC secp224r1 key"),
        (lambda: ec.generate_private_key(ec.SECP256K1()), "EC secp256k1 key"),
        (lambda: dsa.generate_private_key(1024), "DSA 1024 key"),
    ],
    ids=["ec-p224", "ec-secp256k1", "dsa-1024"],
)
def test_keys_are_judged_by_their_own_algorithm(
    pki: dict[str, Issued], key: Callable[[], object], says: str
) -> None:
    found = check(pki, leaf(pki, key=key()))
    assert codes(found) == ["MC503"]
    assert says in found[0].message
    assert "RSA" not in found[0].message  # never the RSA floor for another algorithm


@pytest.mark.parametrize(
    "key",
    [
        lambda: ec.generate_private_key(ec.SECP384R1()),
        lambda: ec.generate_private_key(ec.SECP521R1()),
        ed25519.Ed25519PrivateKey.generate,
    ],
    ids=["ec-p384", "ec-p521", "ed25519"],
)
def test_keys_apple_accepts_pass(pki: dict[str, Issued], key: Callable[[], object]) -> None:
    assert check(pki, leaf(pki, key=key())) == []


def test_sha1_signature(pki: dict[str, Issued]) -> None:
    server = openssl_resign(leaf(pki), pki["inter"], "sha1")
    found = check(pki, server)
    assert "MC504" in codes(found)
    sha1 = next(f for f in found if f.code == "MC504")
    assert "SHA1" in sha1.message and sha1.certificate is not None
    assert sha1.certificate.role == "server certificate"


def test_sha1_on_the_intermediate_counts_but_not_on_the_root(pki: dict[str, Issued]) -> None:
    inter = openssl_resign(pki["inter"], pki["root"], "sha1")
    root = openssl_resign(pki["root"], None, "sha1")
    server = leaf(pki)
    found = check_server_certificate(HOST, [C(server), C(inter)], bundle=[C(root)], at=NOW)
    assert codes(found) == ["MC504"]
    assert found[0].certificate is not None
    assert found[0].certificate.role == "issuing CA 1"


def test_900_days_after_2019(pki: dict[str, Issued]) -> None:
    found = check(pki, leaf(pki, days_before=100, days_after=800))
    assert codes(found) == ["MC505"]
    assert "900 days" in found[0].message


def test_398_days_only_for_public_roots(pki: dict[str, Issued]) -> None:
    server = leaf(pki, days_before=50, days_after=350)  # 400 days
    assert check(pki, server) == []
    found = check(pki, server, public_root=True)
    assert codes(found) == ["MC506"]


def test_chain_not_reaching_the_bundle(pki: dict[str, Issued]) -> None:
    found = check(pki, leaf(pki), bundle=[C(pki["other"])])
    assert codes(found) == ["MC510"]
    assert "does not chain to a root the profile installs" in found[0].message


def test_server_that_does_not_send_its_intermediate(pki: dict[str, Issued]) -> None:
    found = check(pki, leaf(pki), with_intermediate=False)
    assert codes(found) == ["MC510"]
    assert "intermediate" in found[0].fix


def test_expired_and_not_yet_valid_and_expiring(pki: dict[str, Issued]) -> None:
    expired = check(pki, leaf(pki, days_before=400, days_after=-2))
    assert codes(expired) == ["MC507"]
    future = check(pki, leaf(pki, days_before=-5, days_after=300))
    assert codes(future) == ["MC508"]
    soon = check(pki, leaf(pki, days_after=10))
    assert codes(soon) == ["MC509"] and soon[0].severity is Severity.WARNING
    assert "in 10 days" in soon[0].message


def test_expiry_compared_at_whole_seconds(pki: dict[str, Issued]) -> None:
    """5 ms past a whole-second notAfter is still within that second: not expired."""
    server = leaf(pki, days_after=1)
    end = server.cert.not_valid_after_utc
    at_end = check(
        pki, server, at=end + dt.timedelta(milliseconds=5), expiry_warning=dt.timedelta()
    )
    assert at_end == []
    after = check(pki, server, at=end + dt.timedelta(seconds=1))
    assert codes(after) == ["MC507"]  # the date rule; the chain check leaves dates to it


def test_expired_intermediate(pki: dict[str, Issued]) -> None:
    inter = pki["root"].issue(
        "Old Issuing CA",
        key=make_key("rsa2048", slot=2),
        not_before=NOW - 900 * DAY,
        not_after=NOW - DAY,
    )
    server = inter.issue(
        HOST,
        key=make_key("rsa2048", slot=3),
        ca=False,
        server_names=[HOST],
        not_before=NOW - 30 * DAY,
        not_after=NOW + 300 * DAY,
    )
    found = check_server_certificate(HOST, [C(server), C(inter)], bundle=[C(pki["root"])], at=NOW)
    assert codes(found) == ["MC507"]
    assert found[0].certificate is not None and found[0].certificate.role == "issuing CA 1"


def test_every_failure_reported_at_once(pki: dict[str, Issued]) -> None:
    server = leaf(
        pki,
        ["other.example.org"],
        key=make_key("rsa1024", slot=5),
        eku=[ExtendedKeyUsageOID.CLIENT_AUTH],
        days_before=900,
        days_after=-1,
    )
    found = check(pki, server)
    assert codes(found) == ["MC501", "MC502", "MC503", "MC505", "MC507"]


def test_ikev2_wants_san_and_server_auth_but_no_validity_limit(pki: dict[str, Issued]) -> None:
    long_lived = leaf(pki, ["vpn.example.com"], days_before=100, days_after=2000)
    assert check(pki, long_lived, host="vpn.example.com", purpose="ikev2") == []
    san = x509.SubjectAlternativeName([x509.DNSName("vpn.example.com")])
    no_eku = pki["inter"].issue(
        "vpn",
        key=make_key("rsa2048", slot=3),
        ca=False,
        extra_extensions=[(san, False)],
        not_before=dt.datetime(2018, 1, 1, tzinfo=dt.UTC),
        not_after=NOW + 100 * DAY,
    )
    found = check(pki, no_eku, host="vpn.example.com", purpose="ikev2")
    assert codes(found) == ["MC502"]


def test_eap_names_match_the_cn_with_wildcards(pki: dict[str, Issued]) -> None:
    radius = pki["inter"].issue(
        "radius.corp.example.com",
        key=make_key("rsa2048", slot=3),
        ca=False,
        not_before=NOW - DAY,
        not_after=NOW + 1000 * DAY,
    )
    cert = C(radius)
    assert matches_eap_name(cert, "radius.*.example.com")
    assert matches_eap_name(cert, "*.corp.example.com")
    assert not matches_eap_name(cert, "wpa.*.example.com")
    # The server's own certificate as the anchor; no EKU and 1000 days are fine for EAP.
    assert (
        check_server_certificate(
            "wpa.example.com radius.*.example.com", [cert], bundle=[cert], at=NOW, purpose="eap"
        )
        == []
    )
    found = check_server_certificate(
        "wpa.example.com", [cert], bundle=[C(pki["root"])], at=NOW, purpose="eap"
    )
    assert codes(found) == ["MC501", "MC510"]
    assert "radius.corp.example.com" in found[0].message


def test_empty_chain_is_a_usage_error(pki: dict[str, Issued]) -> None:
    with pytest.raises(ValueError, match="empty"):
        check_server_certificate(HOST, [], bundle=[], at=NOW)
