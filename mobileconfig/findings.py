"""Findings: results about a profile's content, and the catalogue of their codes.

A :class:`Finding` is never raised. Checks return a :class:`Report`; the build calls
:meth:`Report.raise_for_errors`, which raises :class:`~mobileconfig.errors.ValidationFailed`
when the report holds errors (or warnings, under ``strict``).

Codes are stable: once published, a code keeps its meaning. Every code is listed in
:data:`CATALOGUE` and documented in ``docs/findings.md``.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from mobileconfig.errors import Location, ValidationFailed

__all__ = [
    "CATALOGUE",
    "CertificateRef",
    "Code",
    "Finding",
    "Report",
    "Severity",
    "make_finding",
]


class Severity(enum.StrEnum):
    """How much a finding matters. Errors stop a build; warnings stop it under ``strict``."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return {"error": 0, "warning": 1, "info": 2}[self.value]


@dataclass(frozen=True)
class Code:
    """One entry of the catalogue: the code, its default severity, a title and the usual fix."""

    code: str
    severity: Severity
    title: str
    fix: str


@dataclass(frozen=True)
class CertificateRef:
    """The certificate a finding is about, as a user can recognise it."""

    subject: str
    sha256: str
    role: str | None = None
    name: str | None = None
    issuer: str | None = None
    not_after: str | None = None

    def label(self) -> str:
        who = f"{self.role} " if self.role else ""
        return f"{who}'{self.subject}' (sha256:{self.sha256[:16]})"

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass(frozen=True)
class Finding:
    """One result of a check. Immutable; build it with :func:`make_finding`."""

    code: str
    severity: Severity
    message: str
    fix: str
    certificate: CertificateRef | None = None
    location: Location | None = None
    chain: str | None = None
    accepted: str | None = None  # the reason given in validate.accept, when accepted

    @property
    def blocks(self) -> bool:
        """True when this finding is an error that was not accepted."""
        return self.severity is Severity.ERROR and self.accepted is None

    def sort_key(self) -> tuple[int, str, str, str]:
        return (
            self.severity.rank,
            self.code,
            self.certificate.sha256 if self.certificate else "",
            self.message,
        )

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "certificate": self.certificate.to_json() if self.certificate else None,
            "location": str(self.location) if self.location else None,
            "fix": self.fix,
        }
        if self.chain is not None:
            out["chain"] = self.chain
        if self.accepted is not None:
            out["accepted"] = self.accepted
        return out

    def format(self) -> str:
        """One line for a terminal, then the fix on the next."""
        where = f"{self.location}: " if self.location else ""
        acc = f" [accepted: {self.accepted}]" if self.accepted else ""
        return f"{where}{self.severity.value} {self.code}: {self.message}{acc}\n    fix: {self.fix}"


def make_finding(
    code: str,
    message: str,
    *,
    certificate: CertificateRef | None = None,
    location: Location | None = None,
    fix: str | None = None,
    severity: Severity | None = None,
    chain: str | None = None,
) -> Finding:
    """Create a finding for a catalogued code; severity and fix default to the catalogue's."""
    entry = CATALOGUE[code]
    return Finding(
        code=code,
        severity=severity or entry.severity,
        message=message,
        fix=fix or entry.fix,
        certificate=certificate,
        location=location,
        chain=chain,
    )


@dataclass
class Report:
    """Every finding of a check, sorted by severity. Never raises by itself."""

    findings: list[Finding] = field(default_factory=list)
    chains: list[dict[str, Any]] = field(default_factory=list)

    def add(self, finding: Finding) -> None:
        self.findings.append(finding)

    def extend(self, findings: Iterable[Finding]) -> None:
        self.findings.extend(findings)

    def merge(self, other: Report) -> None:
        self.findings.extend(other.findings)
        self.chains.extend(other.chains)

    def __iter__(self) -> Iterator[Finding]:
        return iter(self.sorted())

    def __len__(self) -> int:
        return len(self.findings)

    def sorted(self) -> list[Finding]:
        return sorted(self.findings, key=Finding.sort_key)

    def codes(self) -> set[str]:
        return {f.code for f in self.findings}

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.sorted() if f.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.sorted() if f.severity is Severity.WARNING]

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.sorted() if f.blocks]

    def has_errors(self, *, strict: bool = False) -> bool:
        return any(
            f.accepted is None
            and (f.severity is Severity.ERROR or (strict and f.severity is Severity.WARNING))
            for f in self.findings
        )

    def raise_for_errors(self, *, strict: bool = False) -> None:
        """Raise :class:`ValidationFailed` when an unaccepted error (or warning, if strict) exists."""
        if not self.has_errors(strict=strict):
            return
        if strict:
            promoted = [
                replace(f, severity=Severity.ERROR)
                if f.severity is Severity.WARNING and f.accepted is None
                else f
                for f in self.findings
            ]
            raise ValidationFailed(Report(promoted, list(self.chains)))
        raise ValidationFailed(self)

    def accept(self, rules: Iterable[Mapping[str, str]]) -> None:
        """Mark findings as accepted: each rule has ``code``, ``certificate`` (``sha256:...``
        prefix, or omitted for any) and ``reason``. Accepted findings stay in the report."""
        rules = list(rules)
        out = []
        for f in self.findings:
            for rule in rules:
                if rule["code"] != f.code:
                    continue
                want = rule.get("certificate")
                if want:
                    digest = want.lower().removeprefix("sha256:").replace(":", "")
                    if f.certificate is None or not f.certificate.sha256.startswith(digest):
                        continue
                f = replace(f, accepted=rule["reason"])
                break
            out.append(f)
        self.findings = out

    def to_json(self) -> dict[str, Any]:
        return {
            "findings": [f.to_json() for f in self.sorted()],
            "chains": self.chains,
            "summary": {
                "errors": len(self.errors),
                "warnings": len(self.warnings),
                "info": sum(1 for f in self.findings if f.severity is Severity.INFO),
                "accepted": sum(1 for f in self.findings if f.accepted is not None),
            },
        }

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, sort_keys=False)


def _codes(*entries: tuple[str, Severity, str, str]) -> dict[str, Code]:
    return {c: Code(c, s, t, f) for c, s, t, f in entries}


E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO

#: Every finding code. MC0xx: the bundle and the spec; MC1xx: certificate chains;
#: MC2xx: signatures; MC3xx: identities; MC4xx: services; MC5xx: TLS servers.
CATALOGUE: dict[str, Code] = _codes(
    ("MC001", I, "duplicate certificate collapsed",
     "Nothing to do: the certificate is installed once. Remove the extra file to silence this."),
    ("MC002", E, "payload content is not a certificate",
     "Replace the payload's content with the DER (pkcs1/root) or PEM (pem) bytes of one certificate."),
    ("MC003", W, "certificate payload type does not match the certificate",
     "Use com.apple.security.root for self-signed CAs and com.apple.security.pkcs1 for the others."),
    ("MC004", E, "reference to a payload that is not in the profile",
     "Point the reference at the PayloadUUID of a payload in the same profile."),
    ("MC005", E, "PayloadUUID used twice",
     "Give every payload its own PayloadUUID (mobileconfig derives them for you)."),
    ("MC006", E, "PayloadIdentifier used twice",
     "Give every payload its own PayloadIdentifier."),
    ("MC007", W, "payload key not defined by Apple for this payload type",
     "Check the key's spelling against Apple's schema; unknown keys are ignored by the device."),
    ("MC008", E, "payload key has the wrong plist type or value",
     "Write the value with the type Apple's schema gives for the key."),
    ("MC009", E, "required payload key missing",
     "Add the key; the device refuses the payload without it."),
    # --- MC1xx: certificate chains (mobileconfig/pki/chains.py) ---
    # --- end MC1xx ---
    # --- MC2xx: signed and encrypted profiles (mobileconfig/cms.py) ---
    # --- end MC2xx ---
    # --- MC3xx: identities and secrets (mobileconfig/pki/identities.py, secrets.py) ---
    # --- end MC3xx ---
)
