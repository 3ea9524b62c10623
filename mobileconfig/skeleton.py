"""Compile once, fill per row: a templated spec's skeleton, and the fill of one row into it.

:meth:`Skeleton.make` compiles the spec once with every templated value replaced by a marker
(``mcfill<nonce>v<k>``; for ``identifier``, ``com.mcfill<nonce>.v<k>``, a reverse-DNS name):
certificate loading and chain checks, identities, every section without templates, Apple's
schema on their payloads, and the plist bytes of everything that does not depend on the row
are done there, once. :meth:`Skeleton.fill` then, per row:

1. renders the templated values (only templates that print variables, as Jinja2 prints
   them), and looks for MDM-variable look-alikes in them (MC032) as the full path does;
2. checks them with the spec model's own validators (the head keys and each templated
   service section, e.g. an address, a host name);
3. compiles the service sections that hold them again, with the skeleton's references, so
   their findings (the S/MIME address match, TLS and host checks) are the real ones, and runs
   Apple's schema on those payloads and on the profile's top level;
4. writes the bytes: the skeleton's, with the values (XML-escaped) in place of the markers,
   the real identifier in every PayloadIdentifier, and every PayloadUUID derived from it.

A row whose checks come out different from the skeleton's in anything but the values
themselves (a finding that fires or not, a value the skeleton cannot carry) gets None, and
the caller takes the full path, which gives the canonical result or error. The builder also
compares its first filled row with a full compile, byte for byte, before it trusts the
skeleton.

Markers hold a random nonce, and a row whose values hold a marker's text takes the full
path, so a value is never taken for a marker.
"""

from __future__ import annotations

import copy
import datetime as dt
import re
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from pydantic import ValidationError

from mobileconfig.errors import Location, MobileconfigError
from mobileconfig.findings import Finding, Report
from mobileconfig.mdm import MDMS, scan_values
from mobileconfig.output import holds_secret
from mobileconfig.payloads.base import derive_uuid
from mobileconfig.render import dumps
from mobileconfig.schema import common_keys, payload_schema, top_level_schema
from mobileconfig.schema.check import check_payload, check_profile
from mobileconfig.services.base import CompileContext, Service
from mobileconfig.services.registry import SERVICES
from mobileconfig.spec.compile import (
    CertificateLoader,
    CompiledProfile,
    EntryExpander,
    SpecSource,
    check_spec,
    compile_spec,
)
from mobileconfig.spec.load import LoadedYAML, PathKey
from mobileconfig.spec.model import ProfileSpec
from mobileconfig.spec.template import has_templates

__all__ = ["MAX_FILLED_VALUE", "Skeleton", "print_simple", "simple_template"]

#: Head keys whose templated value the skeleton carries as a marker: they reach the plist
#: verbatim (the identifier also through every PayloadIdentifier and, by uuid5, every
#: PayloadUUID).
HEAD_KEYS = ("identifier", "name", "organization", "description")
#: A filled value longer than this takes the full path (and its template bounds).
MAX_FILLED_VALUE = 4096
#: Variable values printed exactly as Jinja2 prints them (``str(value)``).
_PLAIN = (str, int, float, bool)
#: Characters the plist writer changes (CR) or refuses (C0 controls, lone surrogates): the
#: full path decides.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\r\ud800-\udfff]")
_UUID = re.compile(rb"[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}")
_SPEC = ProfileSpec.__pydantic_validator__
#: derive_uuid without its cache: a row's identifiers are new every row, and caching them
#: would grow the memory of a long batch with its rows.
_uuid = derive_uuid.__wrapped__
_Part = str | tuple[str]
_Refs = list[tuple[str, str, str]]
#: What the builder checks a compiled profile with (its report, never raising).
Checker = Callable[[CompiledProfile], Report]


def simple_template(source: str) -> list[_Part] | None:
    """The pieces of a template that only prints variables (``com.example.{{ user }}``):
    literal text, and ``(name,)`` per variable. None for anything else (filters,
    expressions, statements): the full path renders those, in its sandbox."""
    from jinja2 import Environment, TemplateSyntaxError, nodes

    try:
        # Parsed only, never rendered.
        tree = Environment(keep_trailing_newline=True).parse(source)  # noqa: S701
    except TemplateSyntaxError:
        return None
    parts: list[_Part] = []
    for node in tree.body:
        if not isinstance(node, nodes.Output):
            return None
        for child in node.nodes:
            if isinstance(child, nodes.TemplateData):
                parts.append(child.data)
            elif isinstance(child, nodes.Name) and child.ctx == "load":
                parts.append((child.name,))
            else:
                return None
    return parts


def print_simple(parts: Sequence[_Part], variables: Mapping[str, Any]) -> str | None:
    """What Jinja2 prints for a :func:`simple_template` with ``variables``, without
    rendering (a twentieth of the time); None when a variable is missing or not plain text,
    a number or a truth value: the sandbox renders those, and says what is wrong."""
    text = []
    for part in parts:
        if isinstance(part, str):
            text.append(part)
            continue
        value = variables.get(part[0], _MISSING)
        if type(value) not in _PLAIN or (type(value) is int and value.bit_length() > 64):
            return None
        text.append(str(value))
    return "".join(text)


_MISSING = object()


def _slots(value: Any, path: PathKey = ()) -> Iterator[tuple[PathKey, str]]:
    """Every templated string of a raw spec, with its key path, in spec order."""
    if isinstance(value, str):
        if has_templates(value):
            yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _slots(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _slots(v, (*path, i))


def _replaced(value: Any, table: Mapping[PathKey, str], path: PathKey = ()) -> Any:
    """``value`` with the strings at ``table``'s key paths replaced."""
    if path in table:
        return table[path]
    if isinstance(value, dict):
        return {k: _replaced(v, table, (*path, k)) for k, v in value.items()}
    if isinstance(value, list):
        return [_replaced(v, table, (*path, i)) for i, v in enumerate(value)]
    return value


def _tree(table: Mapping[PathKey, str]) -> dict[str, Any]:
    """Just the strings of ``table``, each at its key path (lists padded with None)."""
    root: dict[str, Any] = {}
    for path, text in table.items():
        node: Any = root
        for i, here in enumerate(path):
            if isinstance(node, list):
                assert isinstance(here, int)
                node.extend([None] * (here + 1 - len(node)))
            if i == len(path) - 1:
                node[here] = text
                break
            empty: Any = {} if isinstance(path[i + 1], str) else []
            if isinstance(node, dict):
                node = node.setdefault(here, empty)
            else:
                if node[here] is None:
                    node[here] = empty
                node = node[here]
    return root


def _nowhere(path: PathKey) -> Location | None:
    return None


def _fragment(plists: list[dict[str, Any]]) -> bytes:
    """Payload dictionaries written as they sit in a profile's PayloadContent."""
    if not plists:
        return b""
    text = dumps({"K": plists})
    start = text.index(b"\t<array>\n") + len(b"\t<array>\n")
    return text[start : text.rindex(b"\t</array>\n")]


def _resolved(value: Any, uuids: Mapping[str, str], marker: str, ident: str) -> Any:
    """A payload compiled with the marker identifier, with the real one in its place: each
    UUID derived from the marker replaced, and the marker in identifiers."""
    if isinstance(value, str):
        if value in uuids:
            return uuids[value]
        return value.replace(marker, ident) if marker in value else value
    if isinstance(value, dict):
        return {k: _resolved(v, uuids, marker, ident) for k, v in value.items()}
    if isinstance(value, list):
        return [_resolved(v, uuids, marker, ident) for v in value]
    return value


#: Schema rules that read a value, not only its type (see mobileconfig/schema/check.py).
_READS_VALUE = ("values", "format", "range", "ref", "default")


def _payload_node(payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """The schema a payload is checked against, as the schema check builds it."""
    ptype = payload.get("PayloadType")
    schema = payload_schema(ptype) if isinstance(ptype, str) else None
    if schema is None:
        return None
    return {**schema, "keys": {**common_keys(), **schema.get("keys", {})}}


_READ_KEYS: dict[int, tuple[Mapping[str, Any], frozenset[str]]] = {}


def _read_keys(node: Mapping[str, Any]) -> frozenset[str]:
    """The keys of a dictionary node whose values other rules read: the conditions of
    conditionally required keys, and one-true groups (kept per schema node)."""
    known = _READ_KEYS.get(id(node))
    if known is not None and known[0] is node:
        return known[1]
    keys: Mapping[str, Any] = node.get("keys") or {}
    tested = {
        t[1] for spec in keys.values() for t in (spec.get("required_if") or {}).get("when", ())
    }
    tested.update((node.get("one_true") or {}).get("keys", ()))
    found = frozenset(tested)
    if len(_READ_KEYS) < 4096:
        _READ_KEYS[id(node)] = (node, found)
    return found


def _blind(a: Any, b: Any, node: Mapping[str, Any] | None) -> bool:
    """True when Apple's schema checks cannot tell ``a`` from ``b``: the same keys, lengths
    and types everywhere, and every value that differs sits where no rule reads values
    (allowed values, formats, ranges, references, defaults, the conditions of other keys,
    one-true groups, open dictionaries). Then both get the same findings but for the
    payload's label in their text."""
    if node is None or type(a) is not type(b):
        return False
    if isinstance(a, dict):
        keys: Mapping[str, Any] = node.get("keys") or {}
        every = node.get("any")
        if a.keys() != b.keys() or (not keys and every is None):
            return False
        tested = _read_keys(node)
        for key, value in a.items():
            other = b[key]
            if type(value) is type(other) and not isinstance(value, dict | list) and value == other:
                continue
            if key in tested:
                return False
            if not _blind(value, other, keys.get(key) if key in keys else every):
                return False
        return True
    if any(rule in node for rule in _READS_VALUE):
        return False
    if isinstance(a, list):
        item = node.get("items")
        return len(a) == len(b) and item is not None and all(map(_blind, a, b, [item] * len(a)))
    return isinstance(a, str | bytes | int | float)


def _xml(value: str) -> bytes:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").encode()


@dataclass
class _Section:
    """A service section holding templated values: compiled again for every row."""

    service: Service[Any]
    start: int  # its first payload's index in PayloadContent
    count: int
    findings: list[tuple[Finding, bool]]  # each flagged when it names a marker
    schema: list[tuple[list[tuple[Finding, bool]], _Refs]]  # per payload
    plists: list[dict[str, Any]]  # the skeleton's payloads, to compare a row's with
    nodes: list[dict[str, Any] | None]  # and the schema each is checked against


class Skeleton:
    """A templated spec compiled once (see the module docstring); made by :meth:`make`."""

    def __init__(self) -> None:
        self.nonce = secrets.token_hex(6)
        self.slots: list[tuple[PathKey, list[_Part]]] = []
        self.markers: list[str] = []
        self.ident: int | None = None  # the slot of a templated identifier
        self.heads: list[int] = []  # the other head-key slots
        self.keys: list[str] = []  # templated top-level keys, in spec order
        self.sections: list[_Section] = []
        self.pieces: list[list[bytes | str] | int] = []  # constant bytes; int: a section
        self.derived: list[tuple[str, str | None]] = []  # (UUID, PayloadIdentifier)
        self.marked: list[int] = []  # report findings that name a marker
        self.verified = False
        self.errors = 0  # unexpected failures of fill (the builder gives up after a few)
        self.lock = threading.Lock()
        #: The builder's: the signer prepared for this skeleton, by (signing?, given signer).
        self.signing: dict[tuple[bool, int], Any] = {}

    @classmethod
    def make(
        cls,
        loaded: LoadedYAML,
        base_dir: Any,
        *,
        load: CertificateLoader,
        expand: EntryExpander,
        check: Checker,
        at: dt.datetime | None,
    ) -> Skeleton | None:
        """The skeleton of a templated spec, or None when every row must take the full path.

        That is when a template sits outside the head keys (identifier, name, organization,
        description) and the service sections (Wi-Fi, Ethernet, mail, Exchange, VPN, trust):
        in ``certificates``, ``identities``, ``sign``, ``validate``, ``payloads``,
        ``platforms``, ``removal`` or ``consent_text``; when a template does more than print
        variables (a filter, an expression, a statement); when the spec names an MDM
        (``mdm:`` decides which placeholders are templates) or accepts findings
        (``validate.accept``); when the markers do not pass the spec model (a templated
        port or flag); and when a finding names a templated value that no row recomputes.
        """
        skeleton = cls()
        try:
            made = skeleton._make(loaded, base_dir, load, expand, check, at)
        except Exception:  # the markers tripped something: the full path stays canonical
            return None
        return skeleton if made else None

    def _make(
        self,
        loaded: LoadedYAML,
        base_dir: Any,
        load: CertificateLoader,
        expand: EntryExpander,
        check: Checker,
        at: dt.datetime | None,
    ) -> bool:
        raw = loaded.value
        if not isinstance(raw, dict) or "mdm" in raw or "mdm_variables" in raw:
            return False
        sections = {s.key: s for s in SERVICES if s.stage == "services" and s.shape != "profile"}
        table: dict[PathKey, str] = {}
        for path, source in _slots(raw):
            parts, top, k = simple_template(source), path[0], len(self.slots)
            if parts is None or not isinstance(top, str):
                return False
            if top == "identifier" and len(path) == 1:
                self.ident, marker = k, f"com.mcfill{self.nonce}.v{k}"
            elif top in HEAD_KEYS and len(path) == 1:
                self.heads.append(k)
                marker = f"mcfill{self.nonce}v{k}"
            elif top in sections:
                marker = f"mcfill{self.nonce}v{k}"
            else:
                return False
            self.slots.append((path, parts))
            self.markers.append(marker)
            table[path] = marker
            if top not in self.keys:
                self.keys.append(top)
        if not self.slots or scan_values(_tree(table), None, locate=_nowhere):
            return False
        self.raw = raw
        self.rendered = copy.deepcopy({k: raw[k] for k in self.keys})
        src = check_spec(LoadedYAML(_replaced(raw, table), loaded.file, loaded.lines), base_dir)
        if src.spec.validate_.accept:
            return False
        compiled = compile_spec(src, load=load, expand=expand, at=at)
        if compiled.context is None:
            return False
        self.src: SpecSource = src
        self.context: CompileContext = compiled.context
        self.report = check(compiled)
        self.text = re.compile("|".join(re.escape(m) for m in sorted(self.markers, key=len)[::-1]))
        plist = compiled.profile.to_plist()
        content: list[dict[str, Any]] = plist.get("PayloadContent", [])
        if not content or len(content) != len(compiled.profile.payload_content):
            return False
        minimums = {p: v for p, v in src.spec.platform_minimums.items() if v}
        self.schema_args: dict[str, Any] = {
            "location": Location(src.file) if src.file else None,
            "platforms": minimums,
        }
        own, rechecked = self._sections(sections, content)
        if own is None:
            return False
        pids = [p.get("PayloadIdentifier") for i, p in enumerate(content) if i not in own]
        self.pids = set(pids)
        self.top = {k: v for k, v in plist.items() if k != "PayloadContent"}
        self.top_marked = [
            k for k, v in self.top.items() if isinstance(v, str) and self.text.search(v)
        ]
        self.top_node = top_level_schema(str(self.top.get("PayloadType")))
        top_schema = self._top_check(self.top)
        self.top_schema = [(f, self._names(f)) for f in top_schema]
        rechecked.extend(top_schema)
        # A finding that names a templated value must be one a row recomputes (the
        # identifier excepted: it is reverse-DNS, and appears as it is).
        values = [m for k, m in enumerate(self.markers) if k != self.ident]
        for n, f in enumerate(self.report.findings):
            text = f"{f.message}\n{f.fix}\n{f.chain or ''}"
            if any(m in text for m in values) and f not in rechecked:
                return False
            if any(m in text for m in self.markers):
                self.marked.append(n)
        self.secret = holds_secret(self.top) or any(
            holds_secret(p) for i, p in enumerate(content) if i not in own
        )
        return self._frame(plist, content)

    def _sections(
        self, sections: Mapping[str, Service[Any]], content: list[dict[str, Any]]
    ) -> tuple[set[int] | None, list[Finding]]:
        """Find each templated section's payloads in the skeleton and record what its
        compile and Apple's schema said about them."""
        pids = [p.get("PayloadIdentifier") for p in content]
        own: set[int] = set()
        rechecked: list[Finding] = []
        for key in self.keys:
            service = sections.get(key)
            if service is None:
                continue
            ctx = replace(self.context, findings=[], leaves=[], brought=[], uuid=_uuid)
            mine = [p.payload_identifier for p in service.compile(ctx, getattr(self.src.spec, key))]
            start = pids.index(mine[0]) if mine and mine[0] in pids else -1
            if start < 0 or pids[start : start + len(mine)] != mine or start in own:
                return None, []
            schema: list[tuple[list[tuple[Finding, bool]], _Refs]] = []
            for i in range(start, start + len(mine)):
                refs: _Refs = []
                found = check_payload(content[i], index=i, references=refs, **self.schema_args)
                schema.append(([(f, self._names(f)) for f in found], refs))
                rechecked.extend(found)
            rechecked.extend(ctx.findings)
            flagged = [(f, self._names(f)) for f in ctx.findings]
            plists = content[start : start + len(mine)]
            nodes = [_payload_node(p) for p in plists]
            self.sections.append(
                _Section(service, start, len(mine), flagged, schema, plists, nodes)
            )
            own.update(range(start, start + len(mine)))
        self.sections.sort(key=lambda s: s.start)
        return own, rechecked

    def _frame(self, plist: dict[str, Any], content: list[dict[str, Any]]) -> bool:
        """Write the constant bytes once, cut where a row's values and sections go."""
        mark = f"mcfill{self.nonce}frame"
        frame = dumps({**plist, "PayloadContent": [mark]})
        line = b"\t\t<string>" + mark.encode() + b"</string>\n"
        if frame.count(line) != 1:
            return False
        head, tail = frame.split(line)
        pieces: list[bytes | int] = [head]
        at = 0
        for n, section in enumerate(self.sections):
            pieces += [_fragment(content[at : section.start]), n]
            at = section.start + section.count
        pieces += [_fragment(content[at:]), tail]
        tokens = re.compile(self.text.pattern.encode() + b"|" + _UUID.pattern)
        self.pieces = [p if isinstance(p, int) else _split(p, tokens) for p in pieces]
        if self.ident is not None:
            marker = self.markers[self.ident]
            self.derived.append((derive_uuid(marker), None))
            for i, p in enumerate(content):
                if any(s.start <= i < s.start + s.count for s in self.sections):
                    continue
                pid, uuid = p.get("PayloadIdentifier"), p.get("PayloadUUID")
                if isinstance(pid, str) and pid.startswith(marker):
                    if uuid != derive_uuid(marker, pid):
                        return False
                    self.derived.append((str(uuid), pid))
        return True

    def _top_check(self, top: dict[str, Any]) -> list[Finding]:
        return check_profile(
            {**top, "PayloadContent": []},
            source=self.src.file or None,
            platforms=self.schema_args["platforms"],
        )

    def _values(self, variables: Mapping[str, Any]) -> list[str] | None:
        values = []
        for _, parts in self.slots:
            joined = print_simple(parts, variables)
            if joined is None or len(joined) > MAX_FILLED_VALUE or _UNSAFE.search(joined):
                return None  # the full path says what is wrong
            values.append(joined)
        return values

    def _names(self, finding: Finding) -> bool:
        """True when ``finding`` names a marker."""
        text = f"{finding.message}\n{finding.fix}\n{finding.chain or ''}"
        return self.text.search(text) is not None

    def _subs(self, findings: list[tuple[Finding, bool]], real: Mapping[str, str]) -> list[Finding]:
        """The findings with the row's values in place of the markers (flagged by _names)."""
        return [self._sub(f, real) if named else f for f, named in findings]

    def _sub(self, finding: Finding, real: Mapping[str, str]) -> Finding:
        """``finding`` with the row's values in place of the markers it names."""

        def put(text: str) -> str:
            return self.text.sub(lambda m: real[m.group()], text)

        return replace(
            finding,
            message=put(finding.message),
            fix=put(finding.fix),
            chain=put(finding.chain) if finding.chain else finding.chain,
        )

    def fill(self, variables: Mapping[str, Any]) -> tuple[bytes, Report, bool] | None:
        """One row: its unsigned bytes, its report and whether it holds a secret; None when
        the row must take the full path."""
        values = self._values(variables)
        if values is None:
            return None
        real = dict(zip(self.markers, values, strict=True))
        table = {path: v for (path, _), v in zip(self.slots, values, strict=True)}
        joined = "\n".join(values)
        if self.text.search(joined):
            return None  # a value holding a marker's text would be taken for the marker
        # MC032 needs a placeholder of some MDM's syntax: only then scan as the full path does.
        if any(m.pattern.search(joined) for m in MDMS.values()) and scan_values(
            _tree(table), None, locate=_nowhere
        ):
            return None
        spec = self.src.spec.model_copy()
        with self.lock:  # the rendered keys are one structure, refilled per row
            for path, value in table.items():
                node: Any = self.rendered
                for part in path[:-1]:
                    node = node[part]
                node[path[-1]] = value
            try:
                for key in self.keys:
                    _SPEC.validate_assignment(
                        spec, key, self.rendered[key], context={"base_dir": self.src.base_dir}
                    )
            except ValidationError:
                return None
        mines = self._compile(spec, real)
        if mines is None:
            return None
        if self.heads:
            top = dict(self.top)
            for k in self.top_marked:
                top[k] = self.text.sub(lambda m: real[m.group()], top[k])
            if (self.top_schema or not _blind(top, self.top, self.top_node)) and self._top_check(
                top
            ) != self._subs(self.top_schema, real):
                return None
        if self.ident is not None:
            ident, marker = values[self.ident], self.markers[self.ident]
            uuids = {u: _uuid(ident, p and ident + p[len(marker) :]) for u, p in self.derived}
            for mine in mines:
                for p in mine:
                    pid = p["PayloadIdentifier"]
                    if pid.startswith(marker):
                        if p["PayloadUUID"] != _uuid(marker, pid):
                            return None
                        uuids[p["PayloadUUID"]] = _uuid(ident, ident + pid[len(marker) :])
            mines = [[_resolved(p, uuids, marker, ident) for p in mine] for mine in mines]
        else:
            uuids = {}
        escaped = {m: _xml(v) for m, v in real.items()}
        out: list[bytes] = []
        for piece in self.pieces:
            if isinstance(piece, int):
                out.append(_fragment(mines[piece]))
                continue
            for token in piece:
                if isinstance(token, bytes):
                    out.append(token)
                elif token in escaped:
                    out.append(escaped[token])
                else:
                    out.append(uuids.get(token, token).encode())
        findings = list(self.report.findings)
        for n in self.marked:
            findings[n] = self._sub(findings[n], real)
        secret = self.secret or any(holds_secret(p) for mine in mines for p in mine)
        return b"".join(out), Report(findings, list(self.report.chains)), secret

    def _compile(self, spec: Any, real: Mapping[str, str]) -> list[list[dict[str, Any]]] | None:
        """The templated sections' payloads for this row (with the marker identifier), or
        None when their findings or schema results differ from the skeleton's."""
        mines: list[list[dict[str, Any]]] = []
        seen = set(self.pids)
        for section in self.sections:
            ctx = replace(self.context, findings=[], leaves=[], brought=[], uuid=_uuid)
            try:
                payloads = section.service.compile(ctx, getattr(spec, section.service.key))
            except MobileconfigError:
                return None
            if len(payloads) != section.count:
                return None
            if ctx.findings != self._subs(section.findings, real):
                return None
            mine = [p.to_plist() for p in payloads]
            for n, p in enumerate(mine):
                want, want_refs = section.schema[n]
                if want or not _blind(p, section.plists[n], section.nodes[n]):
                    refs: _Refs = []
                    found = check_payload(
                        p, index=section.start + n, references=refs, **self.schema_args
                    )
                    # References are compared by key and target: their labels name the
                    # payload, whose identifier's slug may come from a value.
                    if found != self._subs(want, real) or [r[1:] for r in refs] != [
                        r[1:] for r in want_refs
                    ]:
                        return None
                if p["PayloadIdentifier"] in seen:
                    return None  # a duplicate the full check reports
                seen.add(p["PayloadIdentifier"])
            mines.append(mine)
        return mines


def _split(data: bytes, tokens: re.Pattern[bytes]) -> list[bytes | str]:
    """``data`` cut at each marker and UUID: literal bytes, and str for a token."""
    out: list[bytes | str] = []
    at = 0
    for m in tokens.finditer(data):
        out += [data[at : m.start()], m.group().decode()]
        at = m.end()
    out.append(data[at:])
    return out
