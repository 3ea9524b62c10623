"""Certificate payloads: com.apple.security.root, .pkcs1 and .pem (one certificate each)."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from mobileconfig.payloads.base import Payload, register

__all__ = [
    "CertificatePayload",
    "PEMCertificatePayload",
    "PKCS1CertificatePayload",
    "RootCertificatePayload",
]


class CertificatePayload(Payload):
    """A certificate without a private key. ``PayloadContent`` is DER (root, pkcs1) or
    the PEM text's bytes (pem), written as ``<data>``."""

    payload_certificate_file_name: str | None = Field(None, alias="PayloadCertificateFileName")
    payload_content: bytes = Field(alias="PayloadContent")


@register
class RootCertificatePayload(CertificatePayload):
    """``com.apple.security.root``: Apple's alias of pkcs1, used here for self-signed CAs."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.root"


@register
class PKCS1CertificatePayload(CertificatePayload):
    """``com.apple.security.pkcs1``: a DER certificate (intermediates, other CAs)."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.pkcs1"


@register
class PEMCertificatePayload(CertificatePayload):
    """``com.apple.security.pem``: the PEM text of one certificate."""

    PAYLOAD_TYPE: ClassVar[str] = "com.apple.security.pem"
