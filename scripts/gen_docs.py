"""Generate the reference pages of the docs from the code, so they cannot drift.

    python scripts/gen_docs.py          # write docs/reference/spec.md and cli.md
    python scripts/gen_docs.py --check  # exit 1 when either is stale (CI, tests)

``docs/reference/spec.md`` comes from the pydantic models of the spec (``ProfileSpec`` and
every model reachable from it): each key's type, default, allowed values, description,
platforms (when the description names them) and an example. Examples are taken, in this
order, from the field's own ``examples``, from the first use of the key in
``examples/company/profile.yaml`` then the other ``examples/*/profile.yaml``, from the
table ``EXAMPLES`` below, and last from the type. Every example is checked against the
field's type, so a wrong one stops the generator.

``docs/reference/cli.md`` is the real ``--help`` of ``mobileconfig`` and of each
subcommand, at a fixed width (``COLUMNS=100``), and a sample session whose output is made
by running the commands on a copy of ``examples/``. argparse's layout changes between
Python versions, so the page records the version it was made with; ``--check`` compares
it only under that version.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import types
import typing
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

# The help text must not depend on the terminal this runs in.
os.environ["COLUMNS"] = "100"
os.environ["NO_COLOR"] = "1"
os.environ.pop("FORCE_COLOR", None)

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from pydantic import BaseModel  # noqa: E402
from pydantic_core import PydanticUndefined  # noqa: E402

SPEC_PAGE = ROOT / "docs" / "reference" / "spec.md"
CLI_PAGE = ROOT / "docs" / "reference" / "cli.md"
PYTHON = f"{sys.version_info.major}.{sys.version_info.minor}"

#: Run ``mobileconfig`` in a fresh interpreter (the docs tests use it too).
RUNNER = "import sys\nfrom mobileconfig import cli\nsys.exit(cli.main(sys.argv[1:]))\n"

#: Fallback examples, "Model.field": YAML text of the value. Used when neither the field
#: nor any example spec gives one.
EXAMPLES: dict[str, str] = {
    "ProfileSpec.identifier": "com.example.corp.certificates",
    "ProfileSpec.removal": "{password: {env: REMOVAL_PASSWORD}}",
    "ProfileSpec.consent_text": '{default: "Installs Example Corp\'s certificates.", '
    'de: "Installiert die Zertifikate von Example Corp."}',
    "ProfileSpec.removal_date": "2027-06-30",
    "ProfileSpec.duration_until_removal": "2592000",
    "ProfileSpec.target_device_type": "1",
    "ProfileSpec.identities": "{alice: {pkcs12: identities/alice.p12, "
    "password: {env: ALICE_P12_PASSWORD}}}",
    "ProfileSpec.payloads": "[{PayloadType: com.apple.dnsSettings.managed, "
    "DNSSettings: {DNSProtocol: HTTPS, ServerURL: 'https://dns.example.com/dns-query'}}]",
    "ProfileSpec.sign": "{pkcs12: signing/signer.p12, password: {env: SIGNER_PASSWORD}}",
    "ProfileSpec.validate": "{expiry_warning: 30d, strict: true}",
    "RemovalPassword.password": "{env: REMOVAL_PASSWORD}",
    "CertificateEntry.path": "certs/partner-root.cer",
    "CertificateEntry.name": "partner-root",
    "CertificateEntry.payload": "pem",
    "AcceptRule.code": "MC105",
    "AcceptRule.certificate": "sha256:3b176bd94111",
    "AcceptRule.reason": "renewal booked for June 20",
    "ValidateSettings.at": "2026-12-01",
    "ValidateSettings.expiry_warning": "60d",
    "ValidateSettings.strict": "true",
    "ValidateSettings.accept": "[{code: MC105, certificate: 'sha256:3b176bd94111', "
    "reason: renewal booked for June 20}]",
    "SignSettings.pkcs12": "signing/signer.p12",
    "SignSettings.password": "{env: SIGNER_PASSWORD}",
    "SignSettings.certificate": "signing/fullchain.pem",
    "SignSettings.key": "signing/privkey.pem",
    "SignSettings.key_password": "{env: SIGNER_KEY_PASSWORD}",
    "SignSettings.chain": "[signing/intermediate.pem]",
    "SignSettings.digest": "sha384",
    "IdentitySpec.pkcs12": "identities/alice.p12",
    "IdentitySpec.key": "identities/alice.key",
    "IdentitySpec.certificate": "identities/alice.pem",
    "IdentitySpec.chain": "[certs/users-ca.pem]",
    "IdentitySpec.key_password": "{env: ALICE_KEY_PASSWORD}",
    "IdentitySpec.password": "{env: ALICE_P12_PASSWORD}",
    "IdentitySpec.embed_password": "false",
    "IdentitySpec.pkcs12_format": "apple",
    "IdentitySpec.display_name": "Alice (mail signing)",
    "IdentitySpec.allow_all_apps_access": "true",
    "IdentitySpec.key_is_extractable": "false",
    "IdentitySpec.scep": '{url: "https://scep.example.com/scep", challenge: {env: '
    'SCEP_CHALLENGE}, subject: "CN={{ serial }},O=Example Corp"}',
    "IdentitySpec.acme": '{directory_url: "https://acme.example.com/directory", '
    'client_identifier: {env: ACME_CLIENT_ID}, subject: "CN={{ serial }}"}',
    "SCEPSettings.url": "https://scep.example.com/scep",
    "SCEPSettings.name": "ExampleCorpDeviceCA",
    "SCEPSettings.subject": '"CN={{ serial }},O=Example Corp"',
    "SCEPSettings.challenge": "{env: SCEP_CHALLENGE}",
    "SCEPSettings.key_size": "2048",
    "SCEPSettings.key_usage": "signing",
    "SCEPSettings.retries": "3",
    "SCEPSettings.retry_delay": "10",
    "SCEPSettings.ca_certificate": "certs/device-ca.pem",
    "SCEPSettings.subject_alt_name": "{dns: [device.example.com]}",
    "ACMESettings.directory_url": "https://acme.example.com/directory",
    "ACMESettings.client_identifier": "{env: ACME_CLIENT_ID}",
    "ACMESettings.key_type": "EC",
    "ACMESettings.key_size": "384",
    "ACMESettings.hardware_bound": "true",
    "ACMESettings.attest": "true",
    "ACMESettings.subject": '"CN={{ serial }},O=Example Corp"',
    "ACMESettings.subject_alt_name": '{email: ["{{ email }}"]}',
    "ACMESettings.key_usage": "signing",
    "ACMESettings.extended_key_usage": "[clientAuth]",
    "SubjectAltNameSettings.dns": "[device.example.com]",
    "SubjectAltNameSettings.email": '["{{ email }}"]',
    "SubjectAltNameSettings.uri": "[https://id.example.com/device]",
    "SubjectAltNameSettings.upn": '"{{ user }}@CORP.EXAMPLE.COM"',
    # The service sections, where examples/ does not show a key.
    "ProfileSpec.ethernet": "[{interface: first-active, eap: {method: tls, identity: device, "
    "server_names: [radius.example.com], anchors: [Example Corp Root CA]}}]",
    "ProfileSpec.trust": "{ota_pki_updates: true, certificate_transparency: "
    "{disabled_for_domains: [.corp.example.com]}}",
    "WiFiSpec.password": "{env: WIFI_PASSPHRASE}",
    "WiFiSpec.setup_modes": "[System]",
    "EthernetSpec.eap": "{method: tls, identity: device, server_names: [radius.example.com], "
    "anchors: [Example Corp Root CA]}",
    "EthernetSpec.setup_modes": "[System, Loginwindow]",
    "MailSpec.description": "Example Corp mail",
    "ExchangeSpec.password": "{prompt: true}",
    "ExchangeSpec.name": "Example Corp Exchange",
    "ExchangeSpec.smime": "{signing: bob, encryption: bob}",
    "TrustSpec.untrusted_tls_prompt": "false",
    "TrustSpec.ota_pki_updates": "true",
    "TrustSpec.enterprise_app_trust": "false",
    "TrustSpec.automatic_date_time": "true",
    "TrustSpec.certificate_transparency": "{disabled_for_domains: [.corp.example.com]}",
    "TrustSpec.revocation": "{enabled_for_certs: [Example Corp Root CA]}",
    "EAPSpec.username": '"{{ user }}"',
    "EAPSpec.password": "{prompt: true}",
    "EAPSpec.outer_identity": "anonymous",
    "EAPSpec.inner_authentication": "MSCHAPv2",
    "EAPSpec.tls_max": '"1.3"',
    "MailIncomingSpec.authentication": "password",
    "MailIncomingSpec.password": "{env: MAIL_PASSWORD}",
    "MailIncomingSpec.path_prefix": "INBOX",
    "MailOutgoingSpec.authentication": "password",
    "MailOutgoingSpec.password": "{env: MAIL_PASSWORD}",
    "ServerCertificateSpec.path": "server/mail.example.com.pem",
    "ServerCertificateSpec.public_root": "true",
    "IKEv2Spec.shared_secret": "{env: VPN_SHARED_SECRET}",
    "IKEv2Spec.username": '"{{ user }}"',
    "IKEv2Spec.password": "{prompt: true}",
    "IKEv2Spec.dead_peer_detection": "Medium",
    "CertificateTransparencySpec.disabled_for_domains": "[.corp.example.com]",
    "CertificateTransparencySpec.disabled_for_certs": "[Example Corp Issuing CA]",
    "RevocationSpec.enabled_for_certs": "[Example Corp Root CA]",
}

_PLATFORM = re.compile(
    r"\b(iOS|iPadOS|macOS|tvOS|visionOS|watchOS)(?:\s+(\d+(?:\.\d+)*))?(?:\s+and later)?"
)


# -- the spec reference --------------------------------------------------------------------


def _root_model() -> type[BaseModel]:
    from mobileconfig.spec.model import ProfileSpec

    return ProfileSpec


def _unwrap(annotation: Any) -> Any:
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def _is_union(annotation: Any) -> bool:
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _nested(annotation: Any, path: str) -> Iterator[tuple[type[BaseModel], str]]:
    """(model, path) for every model inside ``annotation``, with its place in YAML."""
    a = _unwrap(annotation)
    if _is_model(a):
        yield a, path
    elif _is_union(a):
        for arm in typing.get_args(a):
            yield from _nested(arm, path)
    elif typing.get_origin(a) is list:
        (item,) = typing.get_args(a) or (Any,)
        yield from _nested(item, f"{path}[]")
    elif typing.get_origin(a) is dict:
        args = typing.get_args(a)
        if len(args) == 2:
            yield from _nested(args[1], f"{path}.NAME")


def _key(name: str, info: Any) -> str:
    return str(info.alias or name)


def models() -> list[tuple[type[BaseModel], list[str]]]:
    """Every model reachable from ProfileSpec, each after the one that holds it (depth
    first, in field order), with every YAML path it is used at."""
    root = _root_model()
    order: list[type[BaseModel]] = []
    paths: dict[type[BaseModel], list[str]] = {}

    def visit(model: type[BaseModel], path: str) -> None:
        if model in paths:
            if path not in paths[model]:
                paths[model].append(path)
            return
        paths[model] = [path]
        order.append(model)
        for name, info in model.model_fields.items():
            here = f"{path}.{_key(name, info)}" if path else _key(name, info)
            for sub, sub_path in _nested(info.annotation, here):
                visit(sub, sub_path)

    visit(root, "")
    return [(m, paths[m]) for m in order]


def _anchor(model: type[BaseModel]) -> str:
    return model.__name__.lower()


def _literal_values(a: Any) -> list[Any]:
    return list(typing.get_args(a)) if typing.get_origin(a) is Literal else []


def _type_text(annotation: Any) -> str:
    from mobileconfig.secrets import Secret

    a = _unwrap(annotation)
    if a is type(None):
        return ""
    if a is Any:
        return "any plist value"
    if a is str:
        return "string"
    if a is bool:
        return "boolean"
    if a is int:
        return "integer"
    if a is float:
        return "number"
    if a is Secret:
        return "[secret](#secrets)"
    if _is_model(a):
        return f"mapping ([keys](#{_anchor(a)}))"
    values = _literal_values(a)
    if values:
        return "one of " + ", ".join(f"`{_yaml_scalar(v)}`" for v in values)
    if _is_union(a):
        arms = [t for t in (_type_text(x) for x in typing.get_args(a)) if t]
        return " or ".join(dict.fromkeys(arms))
    origin = typing.get_origin(a)
    if origin is list:
        (item,) = typing.get_args(a) or (Any,)
        return f"list of: {_type_text(item)}"
    if origin is dict:
        args = typing.get_args(a)
        value = _type_text(args[1]) if len(args) == 2 else "any plist value"
        if value == "any plist value":
            return "mapping (Apple's keys and plist values)"
        return f"mapping of names to: {value}"
    return getattr(a, "__name__", str(a))


def _constraints(info: Any) -> list[str]:
    out: list[str] = []
    for m in info.metadata:
        for attr, text in (
            ("ge", "at least {}"),
            ("gt", "more than {}"),
            ("le", "at most {}"),
            ("lt", "less than {}"),
            ("min_length", "at least {} long"),
            ("max_length", "at most {} long"),
        ):
            value = getattr(m, attr, None)
            if value is not None:
                out.append(text.format(value))
        pattern = getattr(m, "pattern", None)
        if pattern:
            out.append(f"matches `{pattern}`")
    return out


def _yaml_scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    text = str(value)
    try:
        if text and yaml.safe_load(f"[{text}]") == [text] and text.strip() == text:
            return text
    except yaml.YAMLError:
        pass
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _flow(value: Any) -> str:
    """``value`` as one line of YAML flow style."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_yaml_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _yaml_scalar(value)


def _default_text(info: Any) -> str:
    if info.is_required():
        return "required"
    if info.default_factory is not None:
        value = info.default_factory()
        if isinstance(value, BaseModel):
            return "each key's own default"
        if value in ([], {}):
            return "none (empty)"
        return f"`{_flow(value)}`"
    if info.default is None or info.default is PydanticUndefined:
        return "not set (left out of the profile)"
    return f"`{_flow(info.default)}`"


def _collect_examples() -> dict[tuple[type[BaseModel], str], tuple[Any, str]]:
    """The first value given for each key in examples/*/profile.yaml, and its file."""
    found: dict[tuple[type[BaseModel], str], tuple[Any, str]] = {}

    def walk_model(model: type[BaseModel], data: Any, source: str) -> None:
        if not isinstance(data, dict):
            return
        by_key = {_key(n, i): (n, i) for n, i in model.model_fields.items()}
        for key, value in data.items():
            if key not in by_key:
                continue
            name, info = by_key[key]
            found.setdefault((model, name), (value, source))
            walk(info.annotation, value, source)

    def walk(annotation: Any, value: Any, source: str) -> None:
        a = _unwrap(annotation)
        if _is_model(a):
            walk_model(a, value, source)
        elif _is_union(a):
            arms = [x for x in typing.get_args(a) if _is_model(_unwrap(x))]
            if isinstance(value, dict) and arms:
                for arm in arms:
                    fields = {_key(n, i) for n, i in _unwrap(arm).model_fields.items()}
                    if set(value) <= fields:
                        walk(arm, value, source)
                        break
            for arm in typing.get_args(a):
                origin = typing.get_origin(_unwrap(arm))
                if origin in (list, dict):
                    walk(arm, value, source)
        elif typing.get_origin(a) is list and isinstance(value, list):
            (item,) = typing.get_args(a) or (Any,)
            for v in value:
                walk(item, v, source)
        elif typing.get_origin(a) is dict and isinstance(value, dict):
            args = typing.get_args(a)
            if len(args) == 2:
                for v in value.values():
                    walk(args[1], v, source)

    # The company bundle first: the example every other page starts from.
    specs = sorted((ROOT / "examples").glob("*/profile.yaml"))
    specs.sort(key=lambda p: p.parent.name != "company")
    for spec in specs:
        from mobileconfig.errors import SpecError

        try:
            data = _load(spec.read_text(encoding="utf-8"), spec.name)
        except (OSError, SpecError):
            continue
        walk_model(_root_model(), data, spec.relative_to(ROOT).as_posix())
    return found


def _derived_example(info: Any) -> str:
    from mobileconfig.secrets import Secret

    a = _unwrap(info.annotation)
    arms = [x for x in typing.get_args(a) if x is not type(None)] if _is_union(a) else [a]
    first = _unwrap(arms[0]) if arms else a
    values = _literal_values(first)
    if values:
        default = info.default if info.default is not PydanticUndefined else None
        pick = next((v for v in values if v != default), values[0])
        return _yaml_scalar(pick)
    if first is Secret:
        return "{env: NAME}"
    if first is bool:
        return "false" if info.default is True else "true"
    if first is int:
        return "1"
    if typing.get_origin(first) is list:
        return "[]"
    return "..."


def _example(
    model: type[BaseModel],
    name: str,
    info: Any,
    collected: dict[tuple[type[BaseModel], str], tuple[Any, str]],
) -> tuple[str | Any, str | None]:
    """(the example: YAML flow text, or a value to show as a block; where it comes from)."""
    if info.examples:
        return _flow(info.examples[0]), None
    if (model, name) in collected:
        value, source = collected[(model, name)]
        if _is_structured(value) or len(_flow(value)) > 70:
            return _Block(value), source
        return _flow(value), source
    key = f"{model.__name__}.{_key(name, info)}"
    if key in EXAMPLES:
        return EXAMPLES[key], None
    key = f"{model.__name__}.{name}"
    if key in EXAMPLES:
        return EXAMPLES[key], None
    return _derived_example(info), None


class _Dumper(yaml.SafeDumper):
    """Block style, with small leaves in flow style and lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> Any:
        return super().increase_indent(flow, False)


def _leaf(value: Any) -> bool:
    return not isinstance(value, dict | list)


def _represent_dict(dumper: yaml.SafeDumper, data: dict[Any, Any]) -> Any:
    flow = len(data) <= 2 and all(_leaf(v) for v in data.values())
    return dumper.represent_mapping("tag:yaml.org,2002:map", data.items(), flow_style=flow)


def _represent_list(dumper: yaml.SafeDumper, data: list[Any]) -> Any:
    flow = all(_leaf(v) for v in data)
    return dumper.represent_sequence("tag:yaml.org,2002:seq", data, flow_style=flow)


_Dumper.add_representer(dict, _represent_dict)
_Dumper.add_representer(list, _represent_list)


def _block_yaml(key: str, value: Any) -> str:
    text = yaml.dump({key: value}, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=88)
    return str(text).rstrip()


class _Block:
    """An example shown as a YAML block rather than inline."""

    def __init__(self, value: Any) -> None:
        self.value = value


def _is_structured(value: Any) -> bool:
    if isinstance(value, dict):
        return any(isinstance(v, dict | list) for v in value.values()) or len(value) > 2
    if isinstance(value, list):
        return any(isinstance(v, dict) for v in value)
    return False


def _load(text: str, file: str = "<example>") -> Any:
    """YAML as the spec loader reads it (dates stay text)."""
    from mobileconfig.spec.load import load_yaml

    return load_yaml(text, file=file).value


def _check_example(model: type[BaseModel], key: str, info: Any, value: Any) -> None:
    """An example that the model refuses is a bug in EXAMPLES (or in examples/)."""
    from pydantic import TypeAdapter, ValidationError

    data = value.value if isinstance(value, _Block) else _load(f"v: {value}")["v"]
    if data == "...":
        return
    try:
        TypeAdapter(info.annotation).validate_python(data)
    except ValidationError as exc:
        first = str(exc).splitlines()[:3]
        raise SystemExit(f"example for {model.__name__}.{key} is refused: {first}") from None


def _platforms(text: str | None) -> str:
    """The platforms a description names, in its own words: a parenthesis that names one
    ("(iOS 16, macOS 13.1 and later)"), a leading "macOS only:" or "iOS:", or else the
    names it mentions."""
    text = text or ""
    for m in re.finditer(r"\(([^()]*)\)", text):
        parts = [p.strip() for p in m.group(1).split(";") if _PLATFORM.search(p)]
        if parts:
            return "; ".join(parts)
    lead = re.match(r"^((?:iOS|iPadOS|macOS|tvOS|visionOS|watchOS)(?: only)?)[:.]", text)
    if lead:
        return lead.group(1)
    names = list(dict.fromkeys(m.group(0) for m in _PLATFORM.finditer(text)))
    return ", ".join(names)


def _clean(text: str | None) -> str:
    return " ".join((text or "").split())


def _secret_forms() -> list[str]:
    from pydantic import TypeAdapter

    from mobileconfig.secrets import Secret

    schema = TypeAdapter(Secret).json_schema()
    lines: list[str] = []
    for arm in schema.get("oneOf", []):
        props = list(arm.get("properties", {}))
        form = {
            "env": "`{env: NAME}`",
            "file": "`{file: PATH}`",
            "prompt": "`{prompt: true}`",
        }.get(props[0] if props else "", "a plain string")
        lines.append(f"- {form}: {_clean(arm.get('description'))}")
    return lines


def spec_markdown() -> str:
    """The text of docs/reference/spec.md."""
    collected = _collect_examples()
    out: list[str] = [
        "<!-- Generated by scripts/gen_docs.py from mobileconfig/spec/. Do not edit: run",
        "     python scripts/gen_docs.py -->",
        "# Spec reference",
        "",
        "Every key of `profile.yaml`, generated from the models that check it. Unknown keys",
        "are refused, with the nearest valid key suggested. Paths are relative to the spec's",
        "folder. Any string value may use Jinja2 templates (`{{ email }}`), filled from",
        "`--var NAME=VALUE` or `--vars FILE`.",
        "",
        "For editor completion of these keys, see [Editor setup](../editor.md).",
        "",
    ]
    for model, paths in models():
        where = paths[0] or "top level"
        title = "Top level" if not paths[0] else f"`{where}`"
        out += [f"## {title} {{#{_anchor(model)}}}", ""]
        doc = _clean(model.__doc__)
        if doc:
            out += [doc, ""]
        if len(paths) > 1:
            also = ", ".join(f"`{p}`" for p in paths[1:])
            out += [f"Also used at {also}.", ""]
        model_platforms = _platforms(doc)
        if model_platforms:
            out += [f"Platforms: {model_platforms}.", ""]
        for name, info in model.model_fields.items():
            key = _key(name, info)
            description = _clean(info.description)
            if not description:
                subs = [m for m, _ in _nested(info.annotation, key)]
                description = _clean(subs[0].__doc__) if subs else ""
            out += [f"### `{key}`", ""]
            if description:
                out += [description, ""]
            out.append(f"- **Type:** {_type_text(info.annotation)}")
            limits = _constraints(info)
            if limits:
                out.append(f"- **Limits:** {'; '.join(limits)}")
            out.append(f"- **Default:** {_default_text(info)}")
            platforms = _platforms(description)
            if platforms:
                out.append(f"- **Platforms:** {platforms}")
            value, source = _example(model, name, info, collected)
            _check_example(model, key, info, value)
            origin = f" (from `{source}`)" if source else ""
            if isinstance(value, _Block):
                block = _block_yaml(key, value.value)
                out += [f"- **Example**{origin}:", "", "```yaml", block, "```", ""]
            else:
                out += [f"- **Example:** `{key}: {value}`{origin}", ""]
    out += [
        "## Secrets {#secrets}",
        "",
        "A password, challenge or client identifier is never written in the spec as its",
        "value. Give where to read it:",
        "",
        *_secret_forms(),
        "",
        "No message, log, `inspect` output or `repr` shows a secret's value: they show its",
        "source, such as `Secret(env:ALICE_P12_PASSWORD)`.",
        "",
    ]
    return "\n".join(out)


# -- the CLI reference ---------------------------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    from mobileconfig.cli.main import build_parser

    return build_parser()


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return {}


#: The sample session: each command runs in a copy of examples/, in this order.
SESSION = [
    "mobileconfig init examples/company/certs -o my-profile.yaml",
    "mobileconfig build examples/company/profile.yaml -o company.mobileconfig --at 2026-12-01",
    "mobileconfig inspect company.mobileconfig --at 2026-12-01",
    "mobileconfig validate examples/company/profile.yaml --at 2034-01-01",
]


def run_session(commands: list[str], cwd: Path) -> list[tuple[str, int, str]]:
    """Run each command (``mobileconfig ...``) in ``cwd``: (command, exit status, output)."""
    import shlex

    results = []
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "100", "NO_COLOR": "1"}
    for command in commands:
        argv = shlex.split(command)
        assert argv[0] == "mobileconfig", command
        proc = subprocess.run(
            [sys.executable, "-c", RUNNER, *argv[1:]],
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=120,
            check=False,
        )
        results.append((command, proc.returncode, proc.stdout))
    return results


def _session_markdown() -> list[str]:
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copytree(
            ROOT / "examples", Path(tmp) / "examples", ignore=shutil.ignore_patterns("*.pyc")
        )
        results = run_session(SESSION, Path(tmp))
    lines = ["```console"]
    for command, status, output in results:
        note = f"   # exits {status}" if status else ""
        lines.append(f"$ {command}{note}")
        lines += [line.rstrip() for line in output.rstrip("\n").splitlines()]
    lines.append("```")
    return lines


def cli_markdown() -> str:
    """The text of docs/reference/cli.md."""
    parser = _parser()
    out: list[str] = [
        "<!-- Generated by scripts/gen_docs.py from mobileconfig/cli/. Do not edit: run",
        f"     python scripts/gen_docs.py (made with Python {PYTHON}) -->",
        "# Command line reference",
        "",
        "`mobileconfig COMMAND` and `python -m mobileconfig COMMAND` are the same program.",
        "Exit status: **0** success; **1** the content was refused or a check failed; **2** bad",
        "usage or input (one line naming the file and line; add `--verbose` for a traceback).",
        "Messages go to standard error, profiles and reports to `-o FILE` or standard output.",
        "",
        "## A sample session",
        "",
        "Run from the repository's root, on the bundled example. `--at` fixes the time the",
        "certificates are checked at, so this output stays the same; leave it out to check",
        "at the current time. The last command checks two days after the first Issuing CA",
        "expires, as on the day a user reports that nothing connects.",
        "",
        *_session_markdown(),
        "",
        "## mobileconfig",
        "",
        "```text",
        parser.format_help().rstrip(),
        "```",
        "",
    ]
    for name, sub in _subcommands(parser).items():
        out += [f"## mobileconfig {name}", "", "```text", sub.format_help().rstrip(), "```", ""]
    return "\n".join(out)


# -- main ----------------------------------------------------------------------------------

PAGES: dict[Path, Callable[[], str]] = {SPEC_PAGE: spec_markdown, CLI_PAGE: cli_markdown}


def made_with(text: str) -> str | None:
    """The Python version a generated page records, if any."""
    m = re.search(r"made with Python (\d+\.\d+)", text)
    return m.group(1) if m else None


def stale_pages() -> list[str]:
    """Messages for each generated page that differs from what the code gives now."""
    problems: list[str] = []
    for path, render in PAGES.items():
        rel = path.relative_to(ROOT).as_posix()
        current = path.read_text(encoding="utf-8") if path.exists() else None
        if current is None:
            problems.append(f"{rel}: missing")
            continue
        recorded = made_with(current)
        if recorded and recorded != PYTHON:
            print(
                f"{rel}: made with Python {recorded}; not compared under {PYTHON}",
                file=sys.stderr,
            )
            continue
        if render() != current:
            problems.append(f"{rel}: stale")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 when a page is stale")
    args = parser.parse_args(argv)
    if args.check:
        problems = stale_pages()
        for problem in problems:
            print(f"{problem}: run python scripts/gen_docs.py", file=sys.stderr)
        return 1 if problems else 0
    for path, render in PAGES.items():
        text = render()
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text(encoding="utf-8") != text:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path.relative_to(ROOT).as_posix()}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
