"""Signing: a :class:`Signer` loaded once, and :func:`sign`, which makes the SignedData.

:func:`sign` makes a DER CMS SignedData with the profile attached byte for byte
(``PKCS7Options.Binary``: LF stays LF), SHA-256 by default and never SHA-1, the signer's
certificate and every certificate of its chain included. Signed attributes are
contentType, signingTime and messageDigest; S/MIME capabilities are left out
(``PKCS7Options.NoCapabilities``), since a profile is not mail. A :class:`Signer` is
loaded once (PKCS#12 or PEM) and reused: signing does not parse anything again.

A device shows a profile Verified only when it can build the signer's chain from the
certificates the signature carries to a root it trusts. :meth:`Signer.complete_chain`
makes sure the chain is there before signing: it follows the signer's issuers through the
chain given and a bundle (a spec's certificates), adds the intermediates it finds, and
reports the signer whose issuer is nowhere (MC210). The root itself is optional (the device
holds it); so a chain that ends at a CA certificate whose issuer is not at hand is taken to
end at a root the devices hold, which cannot be checked here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7, pkcs12

from mobileconfig.cms.common import as_utc, format_date, short_error, utc_now, who
from mobileconfig.errors import CMSError, IdentityError, Location, MobileconfigError
from mobileconfig.findings import Finding, Severity, make_finding
from mobileconfig.pki.certs import Certificate, key_spki_der, load_certificates

__all__ = [
    "EXPIRY_WARNING",
    "MAX_SIGNER_CHAIN",
    "Digest",
    "Signer",
    "SigningKey",
    "sign",
    "signer_findings",
]

#: Digests :func:`sign` offers. SHA-1 is read, never written.
Digest = Literal["sha256", "sha384", "sha512"]
#: Private keys that can sign a profile.
SigningKey = rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey

#: A signer expiring within this is reported (MC203).
EXPIRY_WARNING = dt.timedelta(days=30)
#: Issuers followed above the signer when completing its chain (real chains have 1 to 3).
MAX_SIGNER_CHAIN = 8
#: Same-named candidates tried for one issuer (look-alikes beyond this are not tried).
_MAX_ISSUER_CANDIDATES = 16

_SIGN_HASHES: dict[str, type[hashes.SHA256 | hashes.SHA384 | hashes.SHA512]] = {
    "sha256": hashes.SHA256,
    "sha384": hashes.SHA384,
    "sha512": hashes.SHA512,
}
_SIGN_OPTIONS = (pkcs7.PKCS7Options.Binary, pkcs7.PKCS7Options.NoCapabilities)


# -- signer ---------------------------------------------------------------------------


class Signer:
    """A signing identity: the certificate, its private key and its chain (intermediates,
    and the root only if it was given). Load it once per process and reuse it.

    Its ``repr`` shows the certificate's subject and nothing else. ``private_keys`` is how
    many private keys the file it came from holds (a PKCS#12 may hold several; only one
    can be the signer's, and :meth:`check` refuses to guess: MC213).
    """

    __slots__ = ("_chain_x509", "_key", "certificate", "chain", "private_keys", "source")

    def __init__(
        self,
        certificate: Certificate,
        key: SigningKey,
        chain: Sequence[Certificate] = (),
        *,
        source: str = "<signer>",
        private_keys: int = 1,
    ) -> None:
        where = Location(source)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise IdentityError(
                f"a {type(key).__name__} key cannot sign profiles",
                location=where,
                hint="use an RSA (2048 bits or more) or EC P-256/P-384 key",
            )
        if key_spki_der(key) != certificate.spki_der:
            raise IdentityError(
                f"the private key does not belong to the certificate {who(certificate)}",
                location=where,
                hint="give the key that was used to request this certificate",
            )
        self.certificate = certificate
        self._key: SigningKey = key
        seen = {certificate.sha256}
        kept: list[Certificate] = []
        for cert in chain:
            if cert.sha256 not in seen:
                seen.add(cert.sha256)
                kept.append(cert)
        self.chain: tuple[Certificate, ...] = tuple(kept)
        self.source = source
        self.private_keys = private_keys
        self._chain_x509 = tuple(c.x509 for c in self.chain)

    def __repr__(self) -> str:
        return f"<Signer {self.certificate.subject_text!r}>"

    @property
    def key(self) -> SigningKey:
        """The private key (never shown by ``repr``)."""
        return self._key

    # -- loading ----------------------------------------------------------------------
    @classmethod
    def from_pkcs12(cls, data: bytes, password: bytes | None, *, source: str) -> Signer:
        """The identity in a PKCS#12 (.p12/.pfx): the key, the certificate that matches it,
        and the file's other certificates as the chain."""
        where = Location(source)
        from mobileconfig.pki.identities import (
            MAX_PKCS12_FILE,
            check_pkcs12_iterations,
            describe_pkcs12,
        )

        if len(data) > MAX_PKCS12_FILE:
            raise IdentityError(
                f"the PKCS#12 is {len(data)} bytes, over the {MAX_PKCS12_FILE} byte limit",
                location=where,
            )
        check_pkcs12_iterations(data, source=source)  # before any key is derived
        private_keys = int(describe_pkcs12(data, source=source).get("private_keys") or 1)
        try:
            key, cert, extra = pkcs12.load_key_and_certificates(data, password)
        except UnsupportedAlgorithm:
            raise IdentityError(
                "the PKCS#12 uses an encryption this OpenSSL cannot read",
                location=where,
                hint="export it again with AES-256 or 3DES",
            ) from None
        except (ValueError, TypeError):
            raise IdentityError(
                "wrong password for the PKCS#12 (or it is corrupt)", location=where
            ) from None
        if key is None:
            raise IdentityError("the PKCS#12 holds no private key", location=where)
        if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
            raise IdentityError(
                f"the PKCS#12 holds a {type(key).__name__} key, which cannot sign profiles",
                location=where,
                hint="use an RSA or EC key",
            )
        certs = ([cert] if cert is not None else []) + list(extra)
        if not certs:
            raise IdentityError("the PKCS#12 holds no certificate", location=where)
        found = [Certificate(c, origin=where) for c in certs]
        return cls._assemble(key, found, source, private_keys=private_keys)

    @classmethod
    def from_pem(
        cls,
        cert_pem: bytes,
        key_pem: bytes,
        chain_pem: bytes | None = None,
        *,
        key_password: bytes | None = None,
        source: str,
    ) -> Signer:
        """The identity from PEM files. ``cert_pem`` may be a full chain (leaf and
        intermediates, as ACME clients write it): the certificate matching the key signs,
        the others join ``chain_pem``'s as the chain."""
        where = Location(source)
        try:
            certs = load_certificates(cert_pem, source=source)
            if chain_pem:
                certs += load_certificates(chain_pem, source=f"{source} (chain)")
        except MobileconfigError as exc:
            raise IdentityError(
                exc.message, location=exc.location or where, hint=exc.hint
            ) from None
        key = _load_private_key(key_pem, key_password, where)
        return cls._assemble(key, certs, source)

    @classmethod
    def _assemble(
        cls, key: SigningKey, certs: list[Certificate], source: str, *, private_keys: int = 1
    ) -> Signer:
        spki = key_spki_der(key)
        for i, cert in enumerate(certs):
            if cert.spki_der == spki:
                rest = certs[:i] + certs[i + 1 :]
                return cls(cert, key, rest, source=source, private_keys=private_keys)
        raise IdentityError(
            f"the private key does not belong to the certificate {who(certs[0])}",
            location=Location(source),
            hint="give the key that was used to request this certificate",
        )

    # -- checks -----------------------------------------------------------------------
    def check(
        self,
        at: dt.datetime | None = None,
        *,
        expiry_warning: dt.timedelta = EXPIRY_WARNING,
        valid_until: dt.datetime | None = None,
    ) -> list[Finding]:
        """Findings about signing with this certificate at ``at``: expired or not yet valid
        (MC201, MC202: errors), expiring within ``expiry_warning`` (MC203: warning), a
        keyUsage without digitalSignature (MC204: error), expiring before ``valid_until``
        (the profile's removal date: MC212, warning), more than one private key in the
        file it came from (MC213: error)."""
        when = as_utc(at) if at else utc_now()
        out = signer_findings(self.certificate, when, expiry_warning)
        cert = self.certificate
        if (
            valid_until is not None
            and when <= cert.not_after < as_utc(valid_until)
            and not any(f.code == "MC203" for f in out)
        ):
            out.append(
                make_finding(
                    "MC212",
                    f"the signer certificate {who(cert)} expires on "
                    f"{format_date(cert.not_after)}, before the profile is removed on "
                    f"{format_date(as_utc(valid_until))}: devices show the profile "
                    "Unverified from then",
                    certificate=cert.ref("signer certificate"),
                )
            )
        if self.private_keys > 1:
            out.append(
                make_finding(
                    "MC213",
                    f"the signer's PKCS#12 {self.source} holds {self.private_keys} private "
                    f"keys; which one signs cannot be told for certain",
                    certificate=cert.ref("signer certificate"),
                )
            )
        return out

    def complete_chain(
        self, bundle: Sequence[Certificate] = (), *, allow_incomplete: bool = False
    ) -> tuple[Signer, list[Finding]]:
        """This signer with every intermediate between its certificate and a root, and the
        findings: MC211 (info) for each intermediate taken from ``bundle``; MC210 when the
        signer certificate's issuer is neither in the chain given nor in ``bundle`` (an
        error; a warning with ``allow_incomplete``, for an MDM that adds the chain itself).

        Issuers are followed by name and checked by signature, at most
        :data:`MAX_SIGNER_CHAIN` above the signer. Roots found are not added (a device
        holds its roots), and the signer itself is returned when nothing is added."""
        given = {c.sha256 for c in self.chain}
        pool = [*self.chain, *(c for c in bundle if c.sha256 not in given)]
        added: list[Certificate] = []
        findings: list[Finding] = []
        current = self.certificate
        seen = {current.sha256}
        for _ in range(MAX_SIGNER_CHAIN):
            if current.self_issued:
                break
            issuer = _issuer_of(current, pool, seen)
            if issuer is None:
                if current is self.certificate:
                    findings.append(_missing_issuer(current, allow_incomplete))
                break  # above an intermediate: a root the devices hold (not checkable here)
            seen.add(issuer.sha256)
            if issuer.sha256 not in given and not issuer.self_issued:
                added.append(issuer)
                findings.append(
                    make_finding(
                        "MC211",
                        f"the signer's intermediate {who(issuer)} was not given with the "
                        "signer; it was taken from the profile's certificates and included",
                        certificate=issuer.ref("intermediate certificate"),
                    )
                )
            current = issuer
        if not added:
            return self, findings
        completed = Signer(
            self.certificate,
            self._key,
            [*self.chain, *added],
            source=self.source,
            private_keys=self.private_keys,
        )
        return completed, findings

    def _builder(self, content: bytes, digest: str) -> pkcs7.PKCS7SignatureBuilder:
        # Built per call, data first: PKCS7SignatureBuilder.set_data() drops certificates
        # added before it (cryptography 50), so a prepared builder cannot be reused.
        builder = (
            pkcs7.PKCS7SignatureBuilder()
            .set_data(content)
            .add_signer(self.certificate.x509, self._key, _SIGN_HASHES[digest]())
        )
        for cert in self._chain_x509:
            builder = builder.add_certificate(cert)
        return builder


def _issuer_of(
    cert: Certificate, pool: Sequence[Certificate], seen: set[str]
) -> Certificate | None:
    """The certificate of ``pool`` that issued ``cert`` (name and signature), or None."""
    aki = cert.authority_key_identifier
    named = [c for c in pool if c.subject_der == cert.issuer_der and c.sha256 not in seen]
    named.sort(key=lambda c: aki is None or c.subject_key_identifier != aki)  # AKI match first
    for candidate in named[:_MAX_ISSUER_CANDIDATES]:
        if cert.verify_issued_by(candidate):
            return candidate
    return None


def _missing_issuer(cert: Certificate, allowed: bool) -> Finding:
    message = (
        f"the signer certificate {who(cert)} was given without its issuer "
        f"'{cert.issuer_text}', and the profile's certificates do not hold it: devices "
        "cannot build the signer's chain and show the profile Unverified"
    )
    if allowed:
        return make_finding(
            "MC210",
            message + " (signing anyway: an incomplete signer chain is allowed)",
            severity=Severity.WARNING,
            certificate=cert.ref("signer certificate"),
        )
    return make_finding("MC210", message, certificate=cert.ref("signer certificate"))


def _load_private_key(data: bytes, password: bytes | None, where: Location) -> SigningKey:
    pem = b"-----BEGIN" in data
    try:
        if pem:
            key = serialization.load_pem_private_key(data, password)
        else:
            key = serialization.load_der_private_key(data, password)
    except TypeError as exc:
        if password is None:
            raise IdentityError(
                "the private key is encrypted and no password was given", location=where
            ) from None
        if "not encrypted" in str(exc):
            raise IdentityError(
                "a password was given, but the private key is not encrypted", location=where
            ) from None
        raise IdentityError("cannot read the private key", location=where) from None
    except UnsupportedAlgorithm:
        raise IdentityError(
            "the private key uses an algorithm this OpenSSL cannot read", location=where
        ) from None
    except ValueError:
        if password is not None:
            raise IdentityError(
                "wrong password for the private key (or it is corrupt)", location=where
            ) from None
        raise IdentityError(
            "cannot read the private key (expected PEM or DER, PKCS#8 or traditional)",
            location=where,
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey):
        raise IdentityError(
            f"a {type(key).__name__} key cannot sign profiles",
            location=where,
            hint="use an RSA (2048 bits or more) or EC P-256/P-384 key",
        )
    return key


def signer_findings(
    cert: Certificate, at: dt.datetime, expiry_warning: dt.timedelta
) -> list[Finding]:
    """Findings about ``cert`` signing at ``at``: MC201-MC204 (see :meth:`Signer.check`)."""
    ref = cert.ref("signer certificate")
    out: list[Finding] = []
    if at > cert.not_after:
        out.append(
            make_finding(
                "MC201",
                f"the signer certificate {who(cert)} expired on {format_date(cert.not_after)}",
                certificate=ref,
            )
        )
    elif at < cert.not_before:
        out.append(
            make_finding(
                "MC202",
                f"the signer certificate {who(cert)} is not valid before "
                f"{format_date(cert.not_before)}",
                certificate=ref,
            )
        )
    elif cert.not_after - at <= expiry_warning:
        days = (cert.not_after - at).days
        out.append(
            make_finding(
                "MC203",
                f"the signer certificate {who(cert)} expires on {format_date(cert.not_after)}, "
                f"in {days} day{'s' if days != 1 else ''}",
                certificate=ref,
            )
        )
    ku = cert.key_usage
    if ku is not None and not ku.digital_signature:
        out.append(
            make_finding(
                "MC204",
                f"the signer certificate {who(cert)} has a keyUsage without digitalSignature",
                certificate=ref,
            )
        )
    return out


# -- signing --------------------------------------------------------------------------


def sign(content: bytes, signer: Signer, *, digest: Digest = "sha256") -> bytes:
    """DER CMS SignedData holding ``content`` byte for byte, signed by ``signer`` with
    ``digest``, carrying the signer's certificate and its chain."""
    if digest not in _SIGN_HASHES:
        raise CMSError(
            f"cannot sign with digest {digest!r}: use sha256, sha384 or sha512 "
            "(SHA-1 is never used for signing)"
        )
    try:
        return signer._builder(content, digest).sign(serialization.Encoding.DER, _SIGN_OPTIONS)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:
        raise CMSError(
            f"cannot sign: {short_error(exc)}", location=Location(signer.source)
        ) from None
