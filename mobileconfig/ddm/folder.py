"""The declarative output as a folder an MDM can serve as it is, and reading one back.

Layout::

    DIR/declarations/<Identifier>.json   one declaration per file
    DIR/assets/<file>                    asset data and legacy profiles
    DIR/declaration-items.json           Apple's DeclarationItems response

:func:`write_folder` builds the whole folder under a temporary name beside ``DIR`` and
renames it into place, so ``DIR`` is either the old folder or the complete new one; a
failure, Ctrl-C or SIGTERM removes the temporary folder (the signals are held while it
exists: see :func:`mobileconfig.output.signals_held`). Secret-bearing files are created
0600 from their first byte. An existing ``DIR`` is replaced only when it is a DDM folder
(it holds ``declaration-items.json``) or empty, so a mistyped path never wipes a folder.

:func:`inspect_folder` reads any such folder, bounded in files and bytes, checks every
declaration against Apple's schema, resolves every reference, and compares each asset's
file with the size and SHA-256 its declaration gives.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mobileconfig.ddm.model import CATEGORIES, DeclarativeOutput
from mobileconfig.ddm.schema import check_declaration, check_references, references
from mobileconfig.errors import Location, OutputError
from mobileconfig.findings import Finding, Report, make_finding, printable, summary_text
from mobileconfig.output import record_write, signals_held

__all__ = [
    "ITEMS_FILE",
    "MAX_ASSET_BYTES",
    "MAX_DECLARATION_BYTES",
    "MAX_FILES",
    "inspect_folder",
    "render_folder_text",
    "write_folder",
]

ITEMS_FILE = "declaration-items.json"
#: Bounds when reading a folder from anywhere.
MAX_FILES = 10_000
MAX_DECLARATION_BYTES = 1 << 20
MAX_ASSET_BYTES = 64 << 20
#: Asset types whose data is a secret (a key, a password, a challenge).
SECRET_ASSET_TYPES = {
    "com.apple.asset.credential.identity",
    "com.apple.asset.credential.scep",
    "com.apple.asset.credential.acme",
    "com.apple.asset.credential.userpassword",
}


# -- writing ---------------------------------------------------------------------------------
def _write_file(path: Path, data: bytes, secret: bool) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if secret else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _replaceable(target: Path) -> bool:
    if not target.exists():
        return True
    if target.is_symlink() or not target.is_dir():
        return False
    return (target / ITEMS_FILE).is_file() or not any(target.iterdir())


def write_folder(output: DeclarativeOutput, directory: str | os.PathLike[str]) -> list[str]:
    """Write ``output`` into ``directory`` atomically; returns the relative paths written."""
    target = Path(directory)
    where = Location(str(directory))
    if not _replaceable(target):
        raise OutputError(
            "refusing to replace it: it is not a declarative output folder (no "
            f"{ITEMS_FILE}) and not empty",
            location=where,
            hint="give a new or empty folder, or the folder an earlier build --ddm wrote",
        )
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"folder {str(parent)!r} does not exist", location=where)
    # Ctrl-C and SIGTERM wait until the temporary folder is gone or in place, and never
    # fall between moving the old folder aside and putting the new one in its place.
    with signals_held() as check:
        return _write_held(output, target, parent, where, check)


def _write_held(
    output: DeclarativeOutput,
    target: Path,
    parent: Path,
    where: Location,
    check: Callable[[], None],
) -> list[str]:
    try:
        tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".tmp", dir=parent))
    except OSError as exc:
        raise OutputError(
            f"cannot write in {str(parent)!r}: {exc.strerror}", location=where
        ) from None
    old: Path | None = None
    written: list[str] = []
    try:
        for sub in ("declarations", "assets"):
            (tmp / sub).mkdir(mode=0o755)
        for rel, data, secret in output.files():
            check()
            _write_file(tmp / rel, data, secret)
            written.append(rel)
        # mkdtemp makes it 0700; a web server must list it. The files decide who may read.
        os.chmod(tmp, 0o755)  # noqa: S103
        check()  # the last moment to stop: from here the swap completes
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".old", dir=parent))
            os.rename(target, old / "previous")
        os.rename(tmp, target)
        record_write(str(target))
    except BaseException as exc:
        if old is not None and not target.exists():
            with contextlib.suppress(OSError):
                os.rename(old / "previous", target)
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
        if isinstance(exc, OSError):
            raise OutputError(f"cannot write: {exc.strerror}", location=where) from None
        raise
    finally:
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    return written


# -- reading ---------------------------------------------------------------------------------
def _read_json(path: Path, limit: int) -> Any:
    """A JSON file from anywhere: a regular file (not a link, FIFO or device) of at most
    ``limit`` bytes, nested no deeper than Python's parser allows."""
    if path.is_symlink() or not path.is_file():
        raise ValueError("not a regular file (links are not followed)")
    size = path.stat().st_size
    if size > limit:
        raise ValueError(f"{size} bytes; at most {limit} are read")
    try:
        return json.loads(path.read_bytes())
    except RecursionError:
        raise ValueError("nested too deeply") from None


def _hash_file(path: Path) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 16):
            size += len(chunk)
            if size > MAX_ASSET_BYTES:
                raise ValueError(f"over {MAX_ASSET_BYTES} bytes")
            digest.update(chunk)
    return size, digest.hexdigest()


def _local_file(root: Path, url: str) -> Path | None:
    """The file under ``assets/`` a DataURL or ProfileURL names, if it names one there."""
    path = urlsplit(url).path
    if "/assets/" not in path:
        return None
    name = path.rsplit("/assets/", 1)[1]
    if not name or "/" in name or name in (".", ".."):
        return None
    return root / "assets" / name


def _asset_findings(
    root: Path, decl: dict[str, Any], entry: dict[str, Any], where: Location
) -> list[Finding]:
    out: list[Finding] = []
    payload = decl.get("Payload") if isinstance(decl.get("Payload"), dict) else {}
    assert isinstance(payload, dict)
    ident = str(decl.get("Identifier"))
    dtype = decl.get("Type")
    ref = payload.get("Reference")
    url = ref.get("DataURL") if isinstance(ref, dict) else payload.get("ProfileURL")
    if not isinstance(url, str):
        return out
    path = _local_file(root, url)
    entry["file"] = str(path.relative_to(root)) if path else None
    if path is None or path.is_symlink() or not path.is_file():
        out.append(
            make_finding(
                "MC814",
                f"declaration {ident!r} points at {url}, and the folder has no such regular file "
                "under assets/ (links are not followed); the device reports "
                "Error.AssetCannotBeDownloaded",
                location=where,
            )
        )
        return out
    try:
        size, sha = _hash_file(path)
    except (OSError, ValueError) as exc:
        out.append(
            make_finding("MC814", f"{entry['file']}: cannot be read ({exc})", location=where)
        )
        return out
    entry["size"], entry["sha256"] = size, sha
    if isinstance(ref, dict):
        want_size, want_hash = ref.get("Size"), ref.get("Hash-SHA-256")
        problems = []
        if want_size is not None and want_size != size:
            problems.append(f"{size} bytes where the declaration says {want_size}")
        if isinstance(want_hash, str) and want_hash.lower() != sha:
            problems.append(f"SHA-256 {sha[:16]}… where the declaration says {want_hash[:16]}…")
        entry["verified"] = not problems
        if problems:
            out.append(
                make_finding(
                    "MC813",
                    f"{entry['file']} (asset {ident!r}): {'; '.join(problems)}: the device "
                    "refuses the data (Error.AssetCannotBeVerified)",
                    location=where,
                )
            )
    secret = dtype in SECRET_ASSET_TYPES
    if dtype == "com.apple.configuration.legacy":
        legacy_problems, secret = _legacy_findings(path, entry["file"], where)
        out.extend(legacy_problems)
    mode = stat.S_IMODE(path.stat().st_mode)
    if secret and mode & 0o077:
        out.append(
            make_finding(
                "MC815",
                f"{entry['file']} holds a secret and is readable by others (mode {mode:04o})",
                location=where,
            )
        )
    auth = payload.get("Authentication")
    needs_auth = dtype in SECRET_ASSET_TYPES  # a legacy profile is fetched as MDM asks
    if needs_auth and not (isinstance(auth, dict) and auth.get("Type") == "MDM"):
        out.append(
            make_finding(
                "MC815",
                f"asset {ident!r} holds a secret but is fetched without MDM authentication "
                "(Authentication: {Type: MDM} missing)",
                location=where,
            )
        )
    return out


def _legacy_findings(path: Path, shown: str, where: Location) -> tuple[list[Finding], bool]:
    """A legacy configuration's profile must be one the device can read, and must not carry
    what Apple forbids there. Also: whether it holds a secret (so must not be readable by
    others), judged as every writer of this package judges it."""
    from mobileconfig.errors import MobileconfigError
    from mobileconfig.output import holds_secret
    from mobileconfig.reader import read_profile_file

    try:
        loaded = read_profile_file(path, display=shown)
    except MobileconfigError as exc:
        problem = f"{shown}: not a readable profile ({exc.message})"
        return [make_finding("MC817", problem, location=where)], False
    secret = holds_secret(loaded.profile.to_plist())
    forbidden = sorted(
        {p.payload_type for p in loaded.profile.payload_content}
        & {"com.apple.mdm", "com.apple.declarations"}
    )
    if forbidden:
        message = (
            f"{shown} carries {', '.join(forbidden)}, which a legacy profile may not; the "
            "device refuses the whole profile"
        )
        return [make_finding("MC812", message, location=where)], secret
    return [], secret


def _listing(folder: Path) -> tuple[list[Path], bool]:
    """Up to MAX_FILES ``*.json`` entries of ``folder``, sorted, and whether there were more
    (the listing stops there, however large the folder)."""
    found: list[Path] = []
    if not folder.is_dir() or folder.is_symlink():
        return found, False
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.name.endswith(".json"):
                if len(found) == MAX_FILES:
                    return sorted(found), True
                found.append(folder / entry.name)
    return sorted(found), False


def inspect_folder(directory: str | os.PathLike[str]) -> dict[str, Any]:
    """What a DDM folder holds and what is wrong with it, as a JSON-ready dictionary:
    ``declarations`` (each with its references and its file's size and hash), ``findings``
    and ``summary``, as :meth:`Report.to_json` gives them. Never raises on bad content."""
    root = Path(directory)
    report = Report()
    out: dict[str, Any] = {"folder": str(directory), "declarations": []}
    if not root.is_dir():
        report.add(
            make_finding("MC814", f"{directory} is not a folder", location=Location(str(root)))
        )
        return _finish(out, report)
    decls: list[dict[str, Any]] = []
    where_of: dict[str, Location] = {}
    folder = root / "declarations"
    files, more = _listing(folder)
    if more:
        report.add(
            make_finding(
                "MC817",
                f"declarations/ holds more than {MAX_FILES} .json files; only {MAX_FILES} are read",
                location=Location(str(folder)),
            )
        )
    for path in files:
        where = Location(str(path.relative_to(root)))
        try:
            decl = _read_json(path, MAX_DECLARATION_BYTES)
        except (OSError, ValueError) as exc:
            report.add(
                make_finding("MC817", f"{where}: not a readable JSON file ({exc})", location=where)
            )
            continue
        if not isinstance(decl, dict) or not isinstance(decl.get("Identifier"), str):
            report.add(
                make_finding("MC817", f"{where}: not a declaration (no Identifier)", location=where)
            )
            continue
        decls.append(decl)
        where_of[decl["Identifier"]] = where
    by_id = {d["Identifier"]: d for d in decls}
    for decl in decls:
        ident = decl["Identifier"]
        where = where_of[ident]
        entry: dict[str, Any] = {
            "identifier": ident,
            "type": decl.get("Type"),
            "server_token": decl.get("ServerToken"),
            "file": None,
            "references": [
                {"key": key, "identifier": target, "resolved": target in by_id}
                for key, target, _ in references(decl)
            ],
        }
        report.extend(check_declaration(decl, location=where))
        report.extend(_asset_findings(root, decl, entry, where))
        out["declarations"].append(entry)
    report.extend(check_references(decls, location_of=where_of))
    report.extend(_items_findings(root, decls))
    report.extend(_unreferenced(decls, where_of))
    return _finish(out, report)


def _items_findings(root: Path, decls: list[dict[str, Any]]) -> list[Finding]:
    where = Location(ITEMS_FILE)
    if not (root / ITEMS_FILE).exists():
        return [make_finding("MC814", f"the folder has no {ITEMS_FILE}", location=where)]
    try:
        items = _read_json(root / ITEMS_FILE, MAX_DECLARATION_BYTES)
    except (OSError, ValueError) as exc:
        return [make_finding("MC817", f"{ITEMS_FILE}: not readable JSON ({exc})", location=where)]
    out: list[Finding] = []
    arrays = items.get("Declarations") if isinstance(items, dict) else None
    if not isinstance(arrays, dict) or not isinstance(items.get("DeclarationsToken"), str):
        return [
            make_finding(
                "MC816", f"{ITEMS_FILE}: needs Declarations and DeclarationsToken", location=where
            )
        ]
    listed: dict[str, tuple[str, Any]] = {}
    for name in CATEGORIES.values():
        array = arrays.get(name)
        if not isinstance(array, list):
            out.append(
                make_finding(
                    "MC816", f"{ITEMS_FILE}: Declarations.{name} is missing", location=where
                )
            )
            continue
        for item in array:
            if isinstance(item, dict) and isinstance(item.get("Identifier"), str):
                listed[item["Identifier"]] = (name, item.get("ServerToken"))
    for decl in decls:
        ident = decl["Identifier"]
        dtype = str(decl.get("Type", ""))
        kind = dtype.split(".")[2] if dtype.count(".") >= 2 else ""
        want = next((v for k, v in CATEGORIES.items() if k == kind), "Configurations")
        got = listed.pop(ident, None)
        if got is None:
            out.append(
                make_finding(
                    "MC816", f"{ITEMS_FILE} does not list declaration {ident!r}", location=where
                )
            )
        elif got != (want, decl.get("ServerToken")):
            out.append(
                make_finding(
                    "MC816",
                    f"{ITEMS_FILE} lists {ident!r} in {got[0]} with token {str(got[1])[:16]}…; "
                    f"the declaration is in {want} with token {str(decl.get('ServerToken'))[:16]}…",
                    location=where,
                )
            )
    for ident in sorted(listed):
        out.append(
            make_finding(
                "MC816",
                f"{ITEMS_FILE} lists {ident!r}, which has no declaration file",
                location=where,
            )
        )
    return out


def _unreferenced(decls: list[dict[str, Any]], where_of: dict[str, Location]) -> list[Finding]:
    used = {target for d in decls for _, target, _ in references(d)}
    out = []
    for d in decls:
        dtype = str(d.get("Type", ""))
        ident = d["Identifier"]
        if ident in used:
            continue
        if dtype.startswith("com.apple.configuration."):
            what = "no activation lists this configuration (Info.NotReferencedByActivation)"
        elif dtype.startswith("com.apple.asset."):
            what = "no configuration uses this asset (Info.NotReferencedByConfiguration)"
        else:
            continue
        out.append(
            make_finding("MC818", f"declaration {ident!r}: {what}", location=where_of[ident])
        )
    return out


def _finish(out: dict[str, Any], report: Report) -> dict[str, Any]:
    data = report.to_json()
    out["findings"] = data["findings"]
    out["summary"] = data["summary"]
    return out


def render_folder_text(data: dict[str, Any]) -> str:
    """The text form of :func:`inspect_folder`'s result. Every string read from the folder
    has its control characters escaped, so a crafted identifier cannot forge a line."""
    lines = [f"{printable(data['folder'])}: declarative output folder"]
    decls = data["declarations"]
    counts: dict[str, int] = {}
    for d in decls:
        parts = str(d.get("type") or "").split(".")
        kind = parts[2] if len(parts) > 2 else "?"
        counts[kind] = counts.get(kind, 0) + 1
    summary = ", ".join(f"{n} {k}" for k, n in sorted(counts.items()))
    lines.append(f"declarations: {len(decls)}" + (f" ({summary})" if summary else ""))
    for d in sorted(decls, key=lambda d: (str(d.get("type")), str(d["identifier"]))):
        lines.append(f"  {printable(str(d.get('type')))}  {printable(str(d['identifier']))}")
        if d.get("file"):
            state = {
                True: ", matches its declaration",
                False: ", DOES NOT MATCH its declaration",
                None: "",
            }[d.get("verified")]
            size = f", {d['size']} bytes" if "size" in d else ""
            lines.append(f"      file: {printable(d['file'])}{size}{state}")
        for ref in d["references"]:
            mark = "" if ref["resolved"] else "  (not in the folder)"
            lines.append(
                f"      {printable(ref['key'])} -> {printable(str(ref['identifier']))}{mark}"
            )
    if data["findings"]:
        lines.append("findings:")
        for f in data["findings"]:
            where = f"{f['location']}: " if f.get("location") else ""
            lines.append(printable(f"  {where}{f['severity']} {f['code']}: {f['message']}"))
            lines.append(printable(f"      fix: {f['fix']}"))
    s = data["summary"]
    lines.append(summary_text(s))
    return "\n".join(lines)
