"""Verification: :func:`verify` checks a :class:`~mobileconfig.cms.reading.SignedProfile`
the way a device does, and says so in a :class:`Verification`.

It checks the messageDigest attribute against the content, the signature over the DER of
the signed attributes (re-tagged as a SET) or over the content when there are none, then
the signer's chain with :func:`mobileconfig.pki.chains.verify_chain`. RSA PKCS#1 v1.5,
RSA-PSS, ECDSA and Ed25519 signatures; SHA-1 (reported as a warning), SHA-224, SHA-256,
SHA-384 and SHA-512 digests. The result's ``status`` is what a device would show:
``trusted`` (Verified), ``untrusted`` (Not Verified / Unverified: the signature is sound
but the signer does not chain to a trusted root, or has expired) or ``invalid`` (the
profile or its signature was changed, or cannot be checked). Only the first SignerInfo is
checked.

Policy for real signers: Apple's Developer ID and other real signers carry critical
Apple-private extensions (1.2.840.113635.100.6.*). A strict RFC 5280 check refuses a
certificate with an unknown critical extension; devices do not, so the chain check
(``verify_chain``'s default policy) accepts those extensions and only those.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import hmac
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, cast

from asn1crypto import algos as asn1_algos  # type: ignore[import-untyped, unused-ignore]
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

from mobileconfig.cms.common import as_utc, format_date, short_error, utc_now, who
from mobileconfig.cms.oids import HASHES, SIGNATURE_OIDS, content_type_oid, digest_name
from mobileconfig.cms.reading import SignedProfile, SignerInfo
from mobileconfig.cms.signing import EXPIRY_WARNING, signer_findings
from mobileconfig.errors import MobileconfigError
from mobileconfig.findings import Finding, make_finding
from mobileconfig.pki.certs import Certificate, load_certificates

if TYPE_CHECKING:
    from mobileconfig.pki.chains import ChainResult, Policy

__all__ = ["Status", "Verification", "public_roots", "verify"]

#: What :func:`verify` concludes, in the device's terms: Verified, Not Verified, broken.
Status = Literal["trusted", "untrusted", "invalid"]


@dataclass(frozen=True)
class Verification:
    """What :func:`verify` found. ``status``: ``trusted`` (the device shows Verified),
    ``untrusted`` (Not Verified / Unverified: sound signature, chain not trusted or signer
    expired) or ``invalid`` (changed after signing, or not checkable)."""

    status: Status
    #: One sentence a user can act on.
    reason: str
    signer: Certificate | None
    #: The path from the signer to the trusted root when trusted; otherwise as far as it was
    #: built (empty when no anchors were given or the signature is invalid).
    chain: tuple[Certificate, ...]
    findings: tuple[Finding, ...]
    digest_algorithm: str
    signature_algorithm: str

    @property
    def trusted(self) -> bool:
        return self.status == "trusted"

    @property
    def valid(self) -> bool:
        """True when the signature itself is sound (trusted or not)."""
        return self.status != "invalid"


def verify(
    signed: SignedProfile,
    *,
    anchors: Sequence[Certificate] = (),
    at: dt.datetime | None = None,
    policy: Policy | None = None,
) -> Verification:
    """Check ``signed``'s signature, then its signer's chain against ``anchors`` at ``at``
    (default: now). Never raises for a bad profile: the answer is in the result.

    ``policy`` is passed to :func:`mobileconfig.pki.chains.verify_chain` (its default
    accepts the Apple-private critical extensions real signers carry)."""
    when = as_utc(at) if at is not None else utc_now()
    info = signed.signer_info
    digest = signed.digest_algorithm
    sig_name = signed.signature_algorithm

    def invalid(
        reason: str, code: str = "MC206", signer: Certificate | None = None
    ) -> Verification:
        finding = make_finding(
            code, reason, certificate=signer.ref("signer certificate") if signer else None
        )
        return Verification("invalid", reason, signer, (), (finding,), digest, sig_name)

    findings: list[Finding] = []
    if digest not in HASHES:
        return invalid(f"the signature uses the digest {digest}, which is not supported.", "MC209")
    family = SIGNATURE_OIDS.get(info.signature_oid, (info.signature_oid, "", None))[1]
    if family not in ("rsa", "rsa-pss", "ec", "ed25519"):
        return invalid(f"the signature algorithm {sig_name} is not supported.", "MC209")

    # 1. The content against the messageDigest attribute.
    if info.signed_attributes is not None:
        if info.message_digest is None:
            return invalid("the signed attributes have no messageDigest.")
        actual = hashlib.new(digest, signed.content).digest()
        if not hmac.compare_digest(actual, info.message_digest):
            return invalid(
                "the content does not match the digest that was signed: "
                "the profile was changed after signing."
            )
        if info.content_type_attribute is not None and info.content_type_attribute != (
            content_type_oid(signed.content_type)
        ):
            return invalid("the signed contentType does not match the content's type.")
        to_verify = info.signed_attributes
    else:
        to_verify = signed.content

    # 2. The signer certificate, and the signature with its key.
    candidates = [c for c in signed.certificates if _matches_sid(c, info)]
    if not candidates:
        return invalid(
            f"the signer certificate ({info.signer_description}) is not in the profile.",
            "MC208",
        )
    signer: Certificate | None = None
    problem = ""
    for cert in candidates:
        problem = _check_signature(cert, info, digest, to_verify)
        if not problem:
            signer = cert
            break
    if signer is None:
        return invalid(
            f"the signature does not verify with the key of {who(candidates[0])}: {problem}",
            signer=candidates[0],
        )

    # 3. Sound signature: now trust.
    pss_hash = _pss_hash_name(info) if family == "rsa-pss" else None
    if "sha1" in (digest, pss_hash, SIGNATURE_OIDS[info.signature_oid][2]):
        findings.append(
            make_finding(
                "MC205",
                f"the profile is signed with SHA-1 ({sig_name}, digest {digest})",
                certificate=signer.ref("signer certificate"),
            )
        )
    own = signer_findings(signer, when, EXPIRY_WARNING)
    findings.extend(own)
    intermediates = [c for c in signed.certificates if c != signer]
    chain_result = _chain(signer, intermediates, anchors, when, policy)
    if chain_result is not None:
        for f in chain_result.findings:
            about_signer = f.certificate is not None and f.certificate.sha256 == signer.sha256
            if about_signer and f.code in _SAID_BY_SIGNER_CHECKS:
                continue  # MC201-MC203 already say it, naming the signer
            findings.append(f)

    expired = next((f for f in own if f.code in ("MC201", "MC202")), None)
    no_digital_signature = any(f.code == "MC204" for f in own)
    status: Status
    path: tuple[Certificate, ...] = ()
    if expired is not None:
        status = "untrusted"
        reason = f"the signature is valid, but {expired.message} (checked at {format_date(when)})."
    elif no_digital_signature:
        status = "untrusted"
        reason = (
            f"the signature is valid, but the signer certificate {who(signer)} "
            "is not allowed to sign (keyUsage lacks digitalSignature)."
        )
    elif not anchors:
        status = "untrusted"
        reason = "the signature is valid, but no trust anchors were given to check the signer."
    elif chain_result is not None and chain_result.trusted:
        status = "trusted"
        path = tuple(chain_result.path)
        top = path[-1] if path else signer
        reason = (
            f"the signature is valid and the signer {who(signer)} chains to "
            f"the trusted root {who(top)}."
        )
    else:
        status = "untrusted"
        why = (chain_result.reason if chain_result is not None else None) or (
            "its chain does not reach a trusted root"
        )
        why = why[:1].lower() + why[1:]
        reason = f"the signature is valid, but the signer {who(signer)} is not trusted: {why}"
        reason = reason.rstrip(".") + "."
    chain_problem = status == "untrusted" and expired is None and not no_digital_signature
    if chain_problem:
        # When a chain finding already says why (MC101, MC118...), MC207 points at it
        # rather than saying it a second time.
        from mobileconfig.pki.checks import STOP_CODES

        said = sorted({f.code for f in findings if f.code in STOP_CODES})
        text = (
            f"the signature is valid, but the signer {who(signer)} is not trusted: see "
            f"{' and '.join(said)}"
            if said
            else reason
        )
        findings.append(make_finding("MC207", text, certificate=signer.ref("signer certificate")))
    if chain_result is not None and status != "trusted":
        path = tuple(chain_result.path)
    return Verification(
        status,
        reason,
        signer,
        path,
        tuple(sorted(findings, key=Finding.sort_key)),
        digest,
        sig_name,
    )


#: Chain findings on the signer's own dates, which :func:`signer_findings` reports.
_SAID_BY_SIGNER_CHECKS = frozenset({"MC103", "MC104", "MC105"})


def _chain(
    signer: Certificate,
    intermediates: Sequence[Certificate],
    anchors: Sequence[Certificate],
    at: dt.datetime,
    policy: Policy | None,
) -> ChainResult | None:
    if not anchors:
        return None
    from mobileconfig.pki.chains import ChainResult, verify_chain

    try:
        return verify_chain(signer, intermediates, anchors, at=at, policy=policy)
    except (ValueError, TypeError, UnsupportedAlgorithm) as exc:  # a malformed certificate
        return ChainResult(
            trusted=False,
            path=(signer,),
            findings=(),
            reason=f"its chain cannot be checked ({short_error(exc)})",
        )


def _matches_sid(cert: Certificate, info: SignerInfo) -> bool:
    if info.sid_kind == "subject_key_identifier":
        if info.sid_key_identifier is None:
            return False
        ski = cert.subject_key_identifier
        if ski is None:
            try:
                ski = x509.SubjectKeyIdentifier.from_public_key(
                    cast(Any, cert.x509.public_key())
                ).digest
            except (ValueError, TypeError, UnsupportedAlgorithm):
                return False
        return hmac.compare_digest(ski, info.sid_key_identifier)
    if info.sid_serial is None or info.sid_issuer is None:
        return False
    if cert.serial_number != info.sid_serial:
        return False
    if cert.issuer_der == info.sid_issuer:
        return True
    try:  # the same name, encoded differently (RFC 5280 comparison)
        return bool(asn1_x509.Name.load(cert.issuer_der) == asn1_x509.Name.load(info.sid_issuer))
    except Exception:
        return False


def _pss_hash_name(info: SignerInfo) -> str | None:
    try:
        params = asn1_algos.RSASSAPSSParams.load(info.signature_parameters or b"\x30\x00")
        return digest_name(params["hash_algorithm"]["algorithm"].dotted)
    except Exception:
        return None


def _check_signature(cert: Certificate, info: SignerInfo, digest: str, data: bytes) -> str:
    """An empty string when ``cert``'s key made the signature over ``data``, else why not."""
    name, family, _implied = SIGNATURE_OIDS[info.signature_oid]
    algorithm = HASHES[digest]()
    try:
        key = cert.public_key
        if family in ("rsa", "rsa-pss"):
            if not isinstance(key, rsa.RSAPublicKey):
                return f"{name} needs an RSA key, the certificate has {cert.key_description}."
            if family == "rsa-pss":
                pss = _pss_padding(info.signature_parameters)
                if isinstance(pss, str):
                    return pss
                pad, algorithm = pss
                key.verify(info.signature, data, pad, algorithm)
            else:
                key.verify(info.signature, data, padding.PKCS1v15(), algorithm)
        elif family == "ec":
            if not isinstance(key, ec.EllipticCurvePublicKey):
                return f"{name} needs an EC key, the certificate has {cert.key_description}."
            key.verify(info.signature, data, ec.ECDSA(algorithm))
        elif family == "ed25519":
            if not isinstance(key, ed25519.Ed25519PublicKey):
                return f"{name} needs an Ed25519 key, the certificate has {cert.key_description}."
            key.verify(info.signature, data)
        else:  # pragma: no cover - filtered by the caller
            return f"{name} is not supported."
    except InvalidSignature:
        return "the profile or its signature was changed, or the certificate was replaced."
    except (ValueError, TypeError, OverflowError, UnsupportedAlgorithm) as exc:
        return f"the signature cannot be checked ({short_error(exc)})."
    return ""


#: Longest RSASSA-PSS salt accepted, in bytes (the key's length bounds it anyway).
_MAX_PSS_SALT = 2048


def _pss_padding(params_der: bytes | None) -> tuple[padding.PSS, hashes.HashAlgorithm] | str:
    try:
        params = asn1_algos.RSASSAPSSParams.load(params_der or b"\x30\x00")
        hash_name = digest_name(params["hash_algorithm"]["algorithm"].dotted)
        mgf = params["mask_gen_algorithm"]
        if mgf["algorithm"].dotted != "1.2.840.113549.1.1.8":
            return "RSASSA-PSS with a mask generation other than MGF1 is not supported."
        mgf_hash = digest_name(mgf["parameters"]["algorithm"].dotted)
        salt = int(params["salt_length"].native)
    except Exception:
        return "the RSASSA-PSS parameters cannot be read."
    if hash_name not in HASHES or mgf_hash not in HASHES:
        return f"RSASSA-PSS with {hash_name}/{mgf_hash} is not supported."
    if not 0 <= salt <= _MAX_PSS_SALT:
        # A salt is shorter than the key (at most 2,048 bytes for a 16,384-bit one);
        # 2**64 made cryptography raise OverflowError.
        shown = str(salt) if salt.bit_length() < 64 else f"a {salt.bit_length()}-bit number"
        return f"the RSASSA-PSS salt length ({shown}) is out of range."
    pad = padding.PSS(mgf=padding.MGF1(HASHES[mgf_hash]()), salt_length=salt)
    return pad, HASHES[hash_name]()


# -- public roots ---------------------------------------------------------------------


@functools.cache
def _public_roots() -> tuple[Certificate, ...]:
    try:
        import certifi
    except ImportError:
        raise MobileconfigError(
            "checking against public roots needs the 'certifi' package",
            hint="pip install certifi, or give the roots to trust yourself",
        ) from None
    path = certifi.where()
    with open(path, "rb") as handle:
        data = handle.read()
    with warnings.catch_warnings():
        # The Mozilla bundle has a root or two with a non-positive serial number.
        warnings.simplefilter("ignore")
        return tuple(load_certificates(data, source=path))


def public_roots() -> list[Certificate]:
    """The public roots of the Mozilla bundle shipped by ``certifi`` (an optional
    dependency), parsed once per process. A device's own store differs a little."""
    return list(_public_roots())
