"""``mobileconfig init``: write a commented starting ``profile.yaml`` from a folder.

The folder's certificate files (``.pem``, ``.crt``, ``.cer``, ``.der``, ``.p7b``, ...) go
under ``certificates:``, one entry per file, each with a comment naming the certificates
it holds, whether each is a root or an intermediate, and until when it is valid. Files
holding only end-entity certificates (a server's or a user's) are listed commented out:
they do not belong in a company's trust bundle. Each PKCS#12 (``.p12``, ``.pfx``) becomes
an identity named after its file, with its password read from an environment variable
(``alice.p12`` -> ``{env: ALICE_P12_PASSWORD}``); the file itself is never opened with a
password, so nothing secret is read or written.

The result validates against the spec's model and builds once the password variables are
set. It is written atomically, and an existing file is replaced only with ``--force``.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import os
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from mobileconfig.errors import CertificateError, IdentityError, Location, MobileconfigError

if TYPE_CHECKING:
    from mobileconfig.pki.certs import Certificate

__all__ = [
    "DEFAULT_IDENTIFIER",
    "MAX_FILES",
    "Scaffold",
    "scaffold_spec",
]

#: The identifier written when none is given: valid, and obviously a placeholder.
DEFAULT_IDENTIFIER = "com.example.certificates"

_P12_SUFFIXES = {".p12", ".pfx"}
_IDENTIFIER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]*(\.[A-Za-z0-9][A-Za-z0-9_-]*)+$")
_GLOB_CHARS = re.compile(r"[*?\[]")
_TEMPLATE_MARKERS = ("{{", "{%", "{#")
#: Most files looked at in one folder (a mistyped "/" should not read a whole disk).
MAX_FILES = 10_000


@dataclass
class _CertFile:
    path: Path
    entry: str  # the path as written in the spec
    certificates: list[Certificate]
    why_out: str | None = None  # why the file is left out (commented out in the spec)
    notes: list[str] = field(default_factory=list)  # about certificates inside a listed file


@dataclass
class _IdentityFile:
    path: Path
    entry: str
    name: str
    env: str
    format: str | None


@dataclass
class Scaffold:
    """A scaffolded spec: its text and what went into it."""

    text: str
    roots: int = 0
    intermediates: int = 0
    left_out: int = 0  # end-entity certificates, listed commented out
    certificate_files: int = 0
    identities: list[str] = field(default_factory=list)
    password_variables: list[str] = field(default_factory=list)
    #: Files not used: (path as given, path as written in the spec, why).
    skipped: list[tuple[str, str, str]] = field(default_factory=list)
    missing_issuers: list[str] = field(default_factory=list)
    #: The certificates: entries written (folders, globs, files).
    entries: list[str] = field(default_factory=list)
    #: Certificate files written commented out: (path as in the spec, why).
    excluded: list[tuple[str, str]] = field(default_factory=list)


# -- YAML text ------------------------------------------------------------------------------


def _scalar(value: str) -> str:
    """``value`` as a YAML scalar: plain when it reads back unchanged, else double-quoted."""
    import yaml

    if value and "\n" not in value and value == value.strip():
        try:
            if yaml.safe_load(value) == value:
                return value
        except yaml.YAMLError:
            pass
    return json.dumps(value, ensure_ascii=False)


def _comment(text: str) -> str:
    """``text`` on one line for a YAML comment: controls and bidi characters escaped (YAML
    refuses the first, and neither belongs in a file people read in a terminal)."""
    from mobileconfig.text import printable

    return printable(" ".join(text.split()))


def _day(cert: Certificate) -> str:
    return f"{cert.not_after:%Y-%m-%d}"


def _role(cert: Certificate) -> str:
    if cert.is_ca and cert.self_signed:
        return "root"
    if cert.is_ca:
        return "intermediate"
    if cert.self_signed:
        return "self-signed, not a CA"
    return "end-entity"


# -- reading the folder ---------------------------------------------------------------------


def _files(folder: Path) -> list[Path]:
    found: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames, key=lambda n: (n.lower(), n)):
            if name.startswith("."):
                continue
            found.append(Path(dirpath) / name)
            if len(found) > MAX_FILES:
                raise MobileconfigError(
                    f"{folder}: more than {MAX_FILES} files; give the folder that holds the "
                    "certificates"
                )
    return found


def _entry(path: Path, spec_dir: Path) -> str:
    try:
        rel = os.path.relpath(path.resolve(), spec_dir.resolve())
    except ValueError:  # another drive (Windows)
        rel = str(path.resolve())
    text = Path(rel).as_posix()
    return glob.escape(text) if _GLOB_CHARS.search(text) else text


def _entry_plain(path: Path, spec_dir: Path) -> str:
    """``path`` relative to ``spec_dir``, as written, without glob escapes."""
    try:
        return Path(os.path.relpath(path.resolve(), spec_dir.resolve())).as_posix()
    except ValueError:  # another drive (Windows)
        return str(path.resolve())


def _identity_name(stem: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_.-]+", "-", stem.lower()).strip("-._") or "identity"
    if not base[0].isalnum():
        base = f"id-{base}"
    name, n = base, 2
    while name.lower() in taken:
        name, n = f"{base}-{n}", n + 1
    taken.add(name.lower())
    return name


def _env_name(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9]+", "_", name).strip("_").upper() or "IDENTITY"
    if base[0].isdigit():
        base = f"ID_{base}"
    env, n = f"{base}_P12_PASSWORD", 2
    while env in taken:
        env, n = f"{base}_{n}_P12_PASSWORD", n + 1
    taken.add(env)
    return env


def _pkcs12_format(data: bytes, source: str) -> str:
    from mobileconfig.pki.identities import describe_pkcs12

    facts = describe_pkcs12(data, source=source)
    enc = str(facts.get("encryption") or "unknown encryption")
    mac = str(facts.get("mac") or "no").upper().replace("SHA", "SHA-")
    if facts.get("apple_compatible"):
        return f"{enc}, {mac} MAC: Apple devices read it as it is"
    return f"{enc}, {mac} MAC: re-encoded at build for Apple devices (MC301)"


def _depths(files: Sequence[_CertFile]) -> dict[str, int]:
    """Each certificate's distance from a root, following issuer names within the folder
    (iteratively: a 600-certificate chain does not recurse)."""
    from mobileconfig.pki.paths import issuer_depths

    return issuer_depths(c for f in files for c in f.certificates)


# -- the scaffold ---------------------------------------------------------------------------


def scaffold_spec(
    folder: str | os.PathLike[str],
    *,
    spec_dir: str | os.PathLike[str] | None = None,
    identifier: str | None = None,
    name: str | None = None,
    spec_name: str = "profile.yaml",
    command: str | None = None,
    at: dt.datetime | None = None,
) -> Scaffold:
    """The text of a commented spec for the certificates and PKCS#12 files in ``folder``.

    Paths in the spec are relative to ``spec_dir`` (the folder the spec will be written
    to; default: the current folder). A folder whose certificate files all go in is written
    as the folder (or a glob), so a file added later is picked up; a file whose CAs have all
    expired or are not yet valid at ``at`` (default: now) is written commented out, with
    the reason. Raises :class:`MobileconfigError` (one line) when
    ``folder`` is not a folder, holds nothing usable, or ``identifier`` is not reverse DNS.
    """
    from mobileconfig.pki.certs import load_certificate_file
    from mobileconfig.spec.compile import CERT_SUFFIXES

    root = Path(folder)
    where = Location(str(folder))
    if not root.exists():
        raise MobileconfigError("folder not found", location=where)
    if not root.is_dir():
        raise MobileconfigError(
            "is a file, expected a folder of certificates",
            location=where,
            hint="give the folder that holds it",
        )
    ident = identifier or DEFAULT_IDENTIFIER
    if not _IDENTIFIER.match(ident):
        raise MobileconfigError(
            f"--identifier {ident!r} is not a reverse-DNS identifier; write it like "
            "com.example.certificates"
        )
    base = Path(spec_dir) if spec_dir is not None else Path(".")

    certs: list[_CertFile] = []
    p12s: list[_IdentityFile] = []
    skipped: list[tuple[str, str, str]] = []
    names: set[str] = set()
    envs: set[str] = set()
    for path in _files(root):
        suffix = path.suffix.lower()
        if suffix not in CERT_SUFFIXES and suffix not in _P12_SUFFIXES:
            continue
        entry = _entry(path, base)
        shown = path.as_posix()
        if any(m in entry for m in _TEMPLATE_MARKERS):
            skipped.append((shown, entry, "its name holds template markup ({{, {% or {#)"))
            continue
        if suffix in _P12_SUFFIXES:
            try:
                from mobileconfig.files import read_limited  # a FIFO would hang read_bytes()

                data = read_limited(path, 1024 * 1024, error=IdentityError)
                fmt: str | None = _pkcs12_format(data, shown)
            except OSError as exc:
                skipped.append((shown, entry, f"cannot read: {exc.strerror}"))
                continue
            except IdentityError as exc:
                skipped.append((shown, entry, exc.message))
                continue
            ident_name = _identity_name(path.stem, names)
            p12s.append(_IdentityFile(path, entry, ident_name, _env_name(ident_name, envs), fmt))
            continue
        try:
            loaded = load_certificate_file(path, display=shown)
        except CertificateError as exc:
            skipped.append((shown, entry, exc.message))
            continue
        certs.append(_CertFile(path, entry, loaded))

    if not certs and not p12s:
        kinds = ", ".join(sorted(CERT_SUFFIXES | _P12_SUFFIXES))
        why = ""
        if skipped:
            why = f"; {len(skipped)} could not be read, first {skipped[0][0]}: {skipped[0][2]}"
        raise MobileconfigError(
            f"no certificate or PKCS#12 files found ({kinds}){why}",
            location=where,
        )

    if not p12s and not any(c.is_ca for f in certs for c in f.certificates):
        raise MobileconfigError(
            f"holds no CA certificate and no PKCS#12, only end-entity certificates "
            f"(first: {certs[0].path.as_posix()})",
            location=where,
            hint="a profile installs the CAs that issued them; give the CAs' folder",
        )

    when = at or dt.datetime.now(dt.UTC)
    depth = _depths(certs)
    for f in certs:
        _judge_file(f, when)
    subjects = {c.subject_der for f in certs for c in f.certificates}

    def order(f: _CertFile) -> tuple[int, int, str]:
        is_ca = any(c.is_ca for c in f.certificates)
        return (0 if is_ca else 1, min(depth[c.sha256] for c in f.certificates), f.entry)

    certs.sort(key=order)
    included = [f for f in certs if f.why_out is None]
    result = Scaffold(text="", skipped=skipped)
    orgs: Counter[str] = Counter()
    missing: list[str] = []
    for f in included:
        for c in f.certificates:
            if not c.is_ca or not _valid(c, when):
                continue
            role = _role(c)
            if role == "root":
                result.roots += 1
                for attr in c.subject:
                    if attr.oid.dotted_string == "2.5.4.10":  # organizationName
                        orgs[str(attr.value)] += 1
            elif role == "intermediate":
                result.intermediates += 1
            if not c.self_issued and c.issuer_der not in subjects and c.issuer_text not in missing:
                missing.append(c.issuer_text)
    result.missing_issuers = missing
    organization = orgs.most_common(1)[0][0] if orgs else None
    title = name or (f"{organization} certificates" if organization else "Company certificates")

    keys_by_subject: dict[bytes, set[bytes]] = {}
    for f in certs:
        for c in f.certificates:
            keys_by_subject.setdefault(c.subject_der, set()).add(c.spki_der)
    rekeyed = {s: len(k) for s, k in keys_by_subject.items()}
    rekeyed_noted: set[str] = set()
    out: list[str] = []
    add = out.append
    invoked = command or f"mobileconfig init {root.as_posix()}"
    add("# yaml-language-server: $schema=mobileconfig.schema.json")
    add(f"# Written by `{_comment(invoked)}`. Read every line, then:")
    add(f"#   mobileconfig validate {spec_name}")
    add(f"#   mobileconfig build {spec_name} -o {Path(spec_name).stem}.mobileconfig")
    add("# For completion in your editor: mobileconfig schema > mobileconfig.schema.json")
    add("")
    if identifier is None:
        add("# PayloadIdentifier: change it to your own reverse-DNS name, then never again:")
        add("# a device replaces an installed profile that has the same identifier.")
    else:
        add("# PayloadIdentifier: keep it; a device replaces the profile with the same identifier.")
    add(f"identifier: {_scalar(ident)}")
    add("# PayloadDisplayName, shown on the device; organization and description too.")
    add(f"name: {_scalar(title)}")
    if organization:
        add(f"organization: {_scalar(organization)}")
    add("description: " + _scalar(_description(result, len(p12s))))
    add("platforms: [iOS, macOS]")

    if certs:
        add("")
        add("certificates:" if included else "certificates: []")
        if included:
            add("  # A folder or a glob takes every certificate file in it, now and later: add a")
            add("  # renewed CA's file to the folder and the next build installs it.")

        def describe(f: _CertFile) -> None:
            for c in f.certificates:
                for line in _describe(c, when):
                    add("  # " + line)
                if c.is_ca and c.sha256 not in rekeyed_noted and rekeyed.get(c.subject_der, 0) > 1:
                    rekeyed_noted.add(c.sha256)
                    add("  #   (same name as another CA here, other key: a re-keyed CA, MC116)")
            for note in f.notes:
                add(f"  #   ({note})")

        for entry, members, why_not in _entries(included, base):
            if why_not:
                add(f"  # {_comment(why_not)}")
            for f in members:
                describe(f)
            add(f"  - {_scalar(entry)}")
            result.entries.append(entry)
            result.certificate_files += len(members)
        for f in certs:
            if f.why_out is None:
                continue
            describe(f)
            add(f"  # - {_scalar(f.entry)}")
            add(f"  #   (left out: {_comment(f.why_out)})")
            result.excluded.append((f.entry, f.why_out))
            if not any(c.is_ca for c in f.certificates):
                result.left_out += len(f.certificates)
        for issuer in missing:
            add(
                "  # Not in this folder: the issuer "
                + _comment(repr(issuer))
                + ". Add its certificate, or the build stops with MC101."
            )

    if p12s:
        add("")
        add("identities:")
        add("  # Each password is read from the environment when you build; it is never")
        add("  # written here. Set each variable first: read -rs NAME && export NAME")
        for p in p12s:
            add(f"  {_scalar(p.name)}:")
            add(f"    pkcs12: {_scalar(p.entry)}")
            if p.format:
                add(f"    # {_comment(p.format)}")
            add(f"    password: {{env: {p.env}}}")
            result.identities.append(p.name)
            result.password_variables.append(p.env)

    for _, entry, why in skipped:
        add(f"# Not used: {_comment(entry)}: {_comment(why)}")

    add("")
    add("validate:")
    add("  expiry_warning: 30d                 # warn when a certificate expires within 30 days")
    add("  # strict: true                      # make warnings stop the build too")
    add("")
    add("# Sign for manual or web distribution; most MDMs sign profiles themselves.")
    add("# sign:")
    add("#   pkcs12: signing/signer.p12")
    add("#   password: {env: SIGNER_PASSWORD}")
    result.text = "\n".join(out) + "\n"
    _check(result.text)
    return result


def _valid(cert: Certificate, when: dt.datetime) -> bool:
    return cert.not_before <= when <= cert.not_after


def _dates(cert: Certificate, when: dt.datetime) -> str:
    if cert.not_after < when:
        return f"EXPIRED on {_day(cert)}"
    if cert.not_before > when:
        return f"NOT YET VALID: from {cert.not_before:%Y-%m-%d}"
    return f"until {_day(cert)}"


def _describe(cert: Certificate, when: dt.datetime) -> list[str]:
    role = _role(cert)
    dates = _dates(cert, when)
    if role == "root":
        return [f"root: {_comment(cert.subject_text)}, {dates}"]
    issuer = _comment(cert.issuer_common_name or cert.issuer_text)
    return [f"{role}: {_comment(cert.subject_text)}", f"  issued by {issuer!r}, {dates}"]


def _judge_file(f: _CertFile, when: dt.datetime) -> None:
    """Whether ``f`` goes in: it must hold a CA valid at ``when``; else why not."""
    cas = [c for c in f.certificates if c.is_ca]
    if not cas:
        f.why_out = (
            "not a CA. A server's certificate belongs on the server, a user's in an identity."
        )
        return
    good = [c for c in cas if _valid(c, when)]
    if not good:
        first = cas[0]
        if first.not_after < when:
            f.why_out = (
                f"'{first.display_name}' expired on {_day(first)}; devices refuse what it "
                "issued (MC103). Put its renewed certificate in the folder."
            )
        else:
            f.why_out = (
                f"'{first.display_name}' is not valid until {first.not_before:%Y-%m-%d} "
                "(MC104). Check the clock of the CA that issued it, or list it once it is valid."
            )
        return
    for c in f.certificates:
        if c.is_ca and not _valid(c, when):
            state = "expired" if c.not_after < when else "not yet valid"
            f.notes.append(
                f"this file also holds '{c.display_name}', {state}: remove it from the file, "
                "or the build stops with MC103/MC104"
            )
    if any(not c.is_ca for c in f.certificates):
        f.notes.append(
            "this file also holds an end-entity certificate: devices do not need it; remove "
            "it from the file"
        )


def _entries(
    included: Sequence[_CertFile], spec_dir: Path
) -> list[tuple[str, list[_CertFile], str | None]]:
    """The certificates: entries for the files that go in, in their order: a folder, when
    every certificate file the build would read from it goes in; else a glob per suffix
    (``certs/*.pem``) where that is true of the glob; else the files one by one, with the
    reason. Each entry: (as written, its files, a comment when files are listed alone)."""
    from mobileconfig.spec.compile import CERT_SUFFIXES

    chosen = {f.path.resolve() for f in included}
    folders: dict[Path, list[_CertFile]] = {}
    for f in included:
        folders.setdefault(f.path.parent.resolve(), []).append(f)
    here = spec_dir.resolve()
    entry_of: dict[Path, tuple[str, str | None]] = {}  # file -> (entry, note)
    for folder, members in folders.items():
        # What the build reads for a folder entry, and for each glob: expand_entry's rules.
        as_folder = [
            p.resolve()
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() in CERT_SUFFIXES
        ]
        folder_entry = _entry(folder, spec_dir)
        plain = not _GLOB_CHARS.search(folder_entry) and folder_entry == _entry_plain(
            folder, spec_dir
        )
        if folder != here and plain and all(p in chosen for p in as_folder):
            for f in members:
                entry_of[f.path.resolve()] = (folder_entry, None)
            continue
        left = sorted({p.name for p in as_folder if p not in chosen})
        shown = ", ".join(left[:3]) + (" and more" if len(left) > 3 else "")
        where = folder_entry if folder != here else "this folder"
        note = (
            f"listed file by file: {where} also holds {shown}, which must not go in; move "
            "them out and list the folder instead"
        )
        by_suffix: dict[str, list[_CertFile]] = {}
        for f in members:
            by_suffix.setdefault(f.path.suffix, []).append(f)
        for suffix, group in by_suffix.items():
            pattern = f"*{suffix}"
            prefix = "" if folder == here else folder_entry + "/"
            matched = [Path(m).resolve() for m in glob.glob(str(folder / pattern))]
            if (
                plain
                and suffix
                and not _GLOB_CHARS.search(suffix)
                and all(m in chosen for m in matched)
            ):
                for f in group:
                    entry_of[f.path.resolve()] = (prefix + pattern, None)
            else:
                for f in group:
                    entry_of[f.path.resolve()] = (f.entry, note)
    out: list[tuple[str, list[_CertFile], str | None]] = []
    index: dict[str, int] = {}
    said: set[str] = set()  # a folder's note is said once
    for f in included:
        entry, why = entry_of[f.path.resolve()]
        if entry in index:
            out[index[entry]][1].append(f)
            continue
        index[entry] = len(out)
        if why is not None and why in said:
            why = None
        if why is not None:
            said.add(why)
        out.append((entry, [f], why))
    return out


def _description(result: Scaffold, identities: int) -> str:
    parts: list[str] = []
    if result.roots:
        parts.append(f"{result.roots} root{'s' if result.roots != 1 else ''}")
    if result.intermediates:
        n = result.intermediates
        parts.append(f"{n} intermediate{'s' if n != 1 else ''}")
    if identities:
        parts.append(f"{identities} identit{'ies' if identities != 1 else 'y'}")
    listed = " and ".join([", ".join(parts[:-1]), parts[-1]] if len(parts) > 1 else parts)
    return f"{listed or 'Certificates'}, from mobileconfig init"


def _check(text: str) -> None:
    """The scaffold must be a valid spec: a failure here is a bug, reported as one line."""
    import yaml
    from pydantic import ValidationError

    from mobileconfig.spec.model import ProfileSpec

    try:
        ProfileSpec.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:  # pragma: no cover - a bug
        first = str(exc).splitlines()[0]
        raise MobileconfigError(
            f"init made a spec that does not check ({first}); please report it"
        ) from None
