"""What a plan holds: the two profiles compared, the changes, and the findings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mobileconfig.findings import CertificateRef, Finding, Report, Severity
from mobileconfig.pki.certs import Certificate

__all__ = [
    "CONSEQUENCE_CODES",
    "Action",
    "Change",
    "KeyChange",
    "Plan",
    "ProfileSide",
    "cert_label",
    "certificate_ref",
]

#: The plan's own codes; NEW's own findings are those ``validate`` reports.
CONSEQUENCE_CODES = frozenset({"MC701", "MC702", "MC703", "MC704", "MC705"})

Action = Literal["add", "remove", "modify"]


@dataclass(frozen=True)
class KeyChange:
    """One key of a payload that changed. A secret's values are never kept here."""

    key: str  # dotted for keys inside a dictionary: EAPClientConfiguration.TLSTrustedServerNames
    change: Literal["added", "removed", "changed"]
    old: Any = None
    new: Any = None
    secret: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "change": self.change}
        if self.secret:
            out["secret"] = True
        else:
            if self.change != "added":
                out["old"] = self.old
            if self.change != "removed":
                out["new"] = self.new
        return out


@dataclass(frozen=True)
class Change:
    """A payload the device gains (``add``), loses (``remove``) or updates (``modify``).

    ``payload_type`` ``Configuration`` is the profile's own settings (display name,
    removal, scope...)."""

    action: Action
    payload_type: str
    payload_identifier: str | None
    name: str | None
    keys: tuple[KeyChange, ...] = ()
    #: For certificate payloads: the certificate (NEW's for add/modify, OLD's for remove);
    #: for identities, the leaf when it is readable.
    certificate: CertificateRef | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "action": self.action,
            "payload_type": self.payload_type,
            "payload_identifier": self.payload_identifier,
            "name": self.name,
            "keys": [k.to_json() for k in self.keys],
        }
        if self.certificate is not None:
            out["certificate"] = _cert_json(self.certificate)
        return out


@dataclass(frozen=True)
class ProfileSide:
    """OLD or NEW as compared: where it came from and what identifies it on a device."""

    source: str
    kind: Literal["spec", "profile"]
    identifier: str
    uuid: str
    name: str | None
    #: True/False for a built profile; for a spec, whether it has ``sign:``.
    signed: bool
    #: The signer's certificate when known (a spec's PKCS#12 signer is not opened).
    signer: CertificateRef | None
    encrypted: bool = False

    def to_json(self) -> dict[str, Any]:
        return {
            "identifier": self.identifier,
            "uuid": self.uuid,
            "name": self.name,
            "source": self.source,
            "kind": self.kind,
            "signed": self.signed,
            "signer": _cert_json(self.signer) if self.signer is not None else None,
            "encrypted": self.encrypted,
        }


@dataclass
class Plan:
    """What devices holding OLD get when NEW is shipped: the changes, and the findings on
    their consequences and on NEW itself (``report``)."""

    old: ProfileSide
    new: ProfileSide
    changes: list[Change]
    report: Report
    #: NEW's spec asks for strict validation: its own warnings count as errors.
    strict: bool = False

    @property
    def findings(self) -> list[Finding]:
        return self.report.sorted()

    @property
    def changed(self) -> bool:
        """True when a device would see any difference."""
        return bool(self.changes) or self.old.identifier != self.new.identifier

    def has_errors(self) -> bool:
        """True on an unaccepted error finding, or on a warning of NEW's own under a strict
        spec: the plan fails as ``validate`` would."""
        if self.report.has_errors():
            return True
        return self.strict and any(
            f.severity is Severity.WARNING
            and f.accepted is None
            and f.code not in CONSEQUENCE_CODES
            for f in self.report.findings
        )

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)

    def to_json(self) -> dict[str, Any]:
        report = self.report.to_json()
        return {
            "old": self.old.to_json(),
            "new": self.new.to_json(),
            "changes": [c.to_json() for c in self.changes],
            "findings": report["findings"],
            "summary": {
                "add": self.count("add"),
                "remove": self.count("remove"),
                "modify": self.count("modify"),
                **report["summary"],
            },
        }


def _cert_json(ref: CertificateRef) -> dict[str, Any]:
    return {"subject": ref.subject, "cn": ref.name, "sha256": ref.sha256}


def certificate_ref(cert: Certificate) -> CertificateRef:
    """A certificate as plans name it: ``name`` is its CN (else its display name)."""
    return CertificateRef(
        subject=cert.subject_text,
        sha256=cert.sha256,
        name=cert.common_name or cert.display_name,
        issuer=cert.issuer_text,
        not_after=cert.not_after.isoformat(),
    )


def cert_label(cert: Certificate | CertificateRef) -> str:
    if isinstance(cert, Certificate):
        cn, digest = cert.common_name or cert.display_name, cert.sha256
    else:
        cn, digest = cert.name or cert.subject, cert.sha256
    return f"'{cn}' (sha256:{digest[:16]})"
