"""MDM placeholders (mobileconfig.mdm): each MDM's syntax and documented names are found
in a string, unknown names are told apart with a suggestion, and the placeholders that
look like Jinja2 pass through a real Jinja2 sandbox unchanged."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jinja2 import StrictUndefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from mobileconfig import mdm
from mobileconfig.mdm import MDM_NAMES, MDMS, find_variables, protect_for_jinja

ENV = ImmutableSandboxedEnvironment(undefined=StrictUndefined, keep_trailing_newline=True)


def render(source: str, **variables: str) -> str:
    return ENV.from_string(source).render(variables)


# One value per MDM as its documentation writes it, and the names found in it.
DOCUMENTED = {
    "fleet": (
        "CN=$FLEET_VAR_HOST_HARDWARE_SERIAL;${FLEET_VAR_NDES_SCEP_CHALLENGE}",
        ["FLEET_VAR_HOST_HARDWARE_SERIAL", "FLEET_VAR_NDES_SCEP_CHALLENGE"],
    ),
    "jamf": ("$EMAIL on $SERIALNUMBER ($USERNAME)", ["EMAIL", "SERIALNUMBER", "USERNAME"]),
    "intune": ("{{UserPrincipalName}} / {{deviceid}}", ["UserPrincipalName", "deviceid"]),
    "kandji": ("$EMAIL $SERIAL_NUMBER $DEVICE_NAME", ["EMAIL", "SERIAL_NUMBER", "DEVICE_NAME"]),
    "workspace-one": (
        "{EmailAddress} ({DeviceSerialNumber})",
        ["EmailAddress", "DeviceSerialNumber"],
    ),
    "mosyle": ("%Email% on %DeviceName%", ["Email", "DeviceName"]),
}


def test_every_mdm_of_the_spec_is_known() -> None:
    assert set(MDM_NAMES) == {
        "fleet",
        "jamf",
        "intune",
        "kandji",
        "workspace-one",
        "mosyle",
        "simplemdm",
    }
    for key, target in MDMS.items():
        assert target.key == key
        assert target.sources, f"{key} names no source"
        assert all(s.startswith("https://") for s in target.sources)


@pytest.mark.parametrize("key", sorted(DOCUMENTED))
def test_documented_variables_are_found_and_known(key: str) -> None:
    value, names = DOCUMENTED[key]
    found = find_variables(value, key)
    assert [v.name for v in found] == names
    assert all(v.known and v.mdm == key for v in found)
    for v in found:
        assert value[v.start : v.end] == v.text


def test_fleet_both_spellings_and_families() -> None:
    found = find_variables(
        "${FLEET_VAR_HOST_UUID}|$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_CORP_CA|$FLEET_SECRET_WIFI",
        "fleet",
    )
    assert [(v.text, v.known) for v in found] == [
        ("${FLEET_VAR_HOST_UUID}", True),
        ("$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_CORP_CA", True),
        ("$FLEET_SECRET_WIFI", True),
    ]
    # A bare family prefix names nothing.
    assert not find_variables("$FLEET_VAR_CUSTOM_SCEP_CHALLENGE_", "fleet")[0].known


@pytest.mark.parametrize(
    ("key", "value", "name", "suggestion"),
    [
        ("fleet", "$FLEET_VAR_HOST_UID", "FLEET_VAR_HOST_UID", "FLEET_VAR_HOST_UUID"),
        ("jamf", "$SERIAL_NUMBER", "SERIAL_NUMBER", "SERIALNUMBER"),
        ("kandji", "$SERIALNUMBER", "SERIALNUMBER", "SERIAL_NUMBER"),
        ("intune", "{{userprincipalnam}}", "userprincipalnam", "userprincipalname"),
        ("workspace-one", "{EmailAdress}", "EmailAdress", "EmailAddress"),
        ("jamf", "$NOTAVARIABLE", "NOTAVARIABLE", None),
    ],
)
def test_unknown_names_are_marked_with_a_suggestion(
    key: str, value: str, name: str, suggestion: str | None
) -> None:
    (found,) = find_variables(value, key)
    assert found.name == name
    assert not found.known
    assert found.suggestion == suggestion


def test_declared_names_are_known() -> None:
    (v,) = find_variables("{{department}}", "simplemdm")
    assert not v.known  # SimpleMDM's attributes are the account's own
    (v,) = find_variables("{{department}}", "simplemdm", declared={"department"})
    assert v.known
    (v,) = find_variables("$EXTENSIONATTRIBUTE_12", "jamf")
    assert v.known


def test_intune_names_ignore_letter_case_and_report_the_documented_spelling() -> None:
    (v,) = find_variables("{{DeviceId}}", "intune")
    assert v.known
    assert MDMS["intune"].documented_spelling("DeviceId") == "deviceid"
    # Jamf's names are case-sensitive: $email is not $EMAIL.
    assert find_variables("$email", "jamf") == []


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("jamf", "costs $5 or $ 10"),
        ("fleet", "$FLEET and $HOME"),
        ("workspace-one", "{{ user }} and ${name} and {}"),
        ("mosyle", "100% sure, 50%"),
        ("intune", "{{ user }} {% if x %}{{ user|upper }}"),
    ],
)
def test_text_that_is_not_a_variable(key: str, value: str) -> None:
    assert find_variables(value, key) == []


def test_unknown_mdm_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"unknown MDM 'airwatch': choose one of fleet, jamf"):
        mdm.mdm("airwatch")


def test_guess_mdms_only_on_documented_names() -> None:
    assert mdm.guess_mdms("CN=$FLEET_VAR_HOST_UUID") == ["fleet"]
    assert mdm.guess_mdms("{EmailAddress}") == ["workspace-one"]
    assert set(mdm.guess_mdms("$EMAIL")) == {"jamf", "kandji"}
    assert mdm.guess_mdms("$HOME {{ user }}") == []


def test_depends_on_variable() -> None:
    assert mdm.depends_on_variable("$FLEET_VAR_HOST_UUID.vpn.example.com", "fleet")
    assert not mdm.depends_on_variable("vpn.example.com", "fleet")
    assert not mdm.depends_on_variable("$FLEET_VAR_HOST_UUID", None)


def test_names_in_several_values() -> None:
    assert mdm.names_in(["$EMAIL", "$EMAIL $UDID", "x"], "jamf") == ["EMAIL", "UDID"]


# -- Jinja2 ---------------------------------------------------------------------------------


@pytest.mark.parametrize("key", ["intune", "simplemdm"])
def test_mdm_braces_survive_jinja(key: str) -> None:
    source = "{{ user }}@example.com {{userprincipalname}} {{ user | upper }}"
    protected = protect_for_jinja(source, key)
    assert render(protected, user="alice") == ("alice@example.com {{userprincipalname}} ALICE")


def test_a_tight_name_given_as_a_template_variable_stays_jinja() -> None:
    protected = protect_for_jinja("{{user}} {{deviceid}}", "intune", template_names={"user"})
    assert render(protected, user="bob") == "bob {{deviceid}}"


def test_without_protection_jinja_would_fail() -> None:
    from jinja2 import UndefinedError

    with pytest.raises(UndefinedError):
        render("{{deviceid}}")


@pytest.mark.parametrize("key", ["fleet", "jamf", "kandji", "workspace-one", "mosyle"])
def test_other_syntaxes_need_no_protection(key: str) -> None:
    value = DOCUMENTED[key][0]
    assert protect_for_jinja(value, key) == value
    assert render(value) == value


def test_no_mdm_changes_nothing() -> None:
    assert protect_for_jinja("{{deviceid}}", None) == "{{deviceid}}"


_piece = st.one_of(
    st.sampled_from(["{{deviceid}}", "{{userprincipalname}}", "{{Custom_1}}", " ", "@", "."]),
    st.text(alphabet="abcxyz0123 .-_@", max_size=8),
)


@given(st.lists(_piece, max_size=12))
def test_protected_intune_text_renders_to_itself(pieces: list[str]) -> None:
    value = "".join(pieces)
    assert render(protect_for_jinja(value, "intune")) == value


# -- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize("key", MDM_NAMES)
def test_large_and_adversarial_strings_are_bounded(key: str) -> None:
    for value in ("{" * 200_000, "$" * 200_000, "%a" * 100_000, "{{a}" * 50_000):
        found = find_variables(value, key)
        assert all(v.end <= mdm.MAX_SCAN for v in found)


def test_control_characters_are_not_names() -> None:
    assert find_variables("$EM\x1bAIL", "jamf")[0].name == "EM"
    assert find_variables("{{device\u202eid}}", "intune") == []


# -- in a spec: mdm:, --mdm, mdm_variables ---------------------------------------------------

import plistlib  # noqa: E402
import shutil  # noqa: E402
import typing  # noqa: E402
from collections.abc import Callable  # noqa: E402
from pathlib import Path  # noqa: E402

from conftest import ROOT, CLIResult  # noqa: E402

AT = "2026-12-01T12:00:00Z"  # inside the examples' validity


def test_the_spec_model_offers_every_mdm() -> None:
    from mobileconfig.spec.model import MdmName

    assert set(typing.get_args(MdmName)) == set(MDM_NAMES)


def mail_spec(tmp_path: Path, *, address: str, host: str, head: str = "") -> Path:
    """The mail example (S/MIME identity, server certificate) with its address and outgoing
    host replaced, and ``head`` added at the top."""
    folder = tmp_path / "mail"
    shutil.copytree(ROOT / "examples" / "mail", folder)
    spec = folder / "profile.yaml"
    text = spec.read_text()
    text = text.replace("  - address: alice@example.com", f"  - address: '{address}'")
    text = text.replace(
        "    outgoing:\n      host: mail.example.com", f"    outgoing:\n      host: '{host}'"
    )
    spec.write_text(head + text)
    return spec


def codes(result: CLIResult) -> list[str]:
    import json

    return [f["code"] for f in json.loads(result.out)["findings"]]


def test_without_an_mdm_the_variables_are_plain_text(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    spec = mail_spec(tmp_path, address="$EMAIL", host="mail.example.com")
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    found = codes(result)
    assert "MC409" in found  # the identity does not carry "$EMAIL"
    assert "MC032" in found and "MC030" not in found


@pytest.mark.parametrize(
    ("mdm_key", "address", "host"),
    [
        ("jamf", "$EMAIL", "$COMPUTERNAME.example.com"),
        ("kandji", "$EMAIL", "$DEVICE_NAME.example.com"),
        ("fleet", "$FLEET_VAR_HOST_END_USER_EMAIL_IDP", "${FLEET_VAR_HOST_UUID}.example.com"),
        ("intune", "{{mail}}", "{{devicename}}.example.com"),
        ("workspace-one", "{EmailAddress}", "{DeviceSerialNumber}.example.com"),
        ("mosyle", "%Email%", "%DeviceName%.example.com"),
    ],
)
def test_variables_pass_through_and_their_checks_are_reported(
    tmp_path: Path, run_cli: Callable[..., CLIResult], mdm_key: str, address: str, host: str
) -> None:
    spec = mail_spec(tmp_path, address=address, host=host, head=f"mdm: {mdm_key}\n")
    checked = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert checked.code == 0, checked
    found = codes(checked)
    # The host check of outgoing, and the S/MIME address check of both identities.
    assert found.count("MC030") == 3, found
    assert not {"MC409", "MC501", "MC031", "MC032"} & set(found)
    out = tmp_path / "out.mobileconfig"
    built = run_cli("build", spec, "-o", out, "--at", AT)
    assert built.code == 0, built
    mail = next(
        p
        for p in plistlib.loads(out.read_bytes())["PayloadContent"]
        if p["PayloadType"] == "com.apple.mail.managed"
    )
    assert mail["EmailAddress"] == address  # exactly as written, for the MDM to fill in
    assert mail["OutgoingMailServerHostName"] == host
    assert mail["IncomingMailServerHostName"] == "mail.example.com"


def test_command_line_mdm_wins_over_the_spec(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    spec = mail_spec(tmp_path, address="{EmailAddress}", host="m.example.com", head="mdm: jamf\n")
    as_jamf = codes(run_cli("validate", spec, "--at", AT, "--format", "json"))
    assert "MC030" not in as_jamf  # {EmailAddress} is not Jamf's syntax
    as_ws1 = run_cli("validate", spec, "--at", AT, "--format", "json", "--mdm", "workspace-one")
    assert codes(as_ws1).count("MC030") == 2


def test_unknown_variables_warn_with_a_suggestion(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    spec = mail_spec(tmp_path, address="$EMAL", host="mail.example.com", head="mdm: jamf\n")
    result = run_cli("validate", spec, "--at", AT, "--format", "json", "--strict")
    assert result.code == 1  # a warning, under --strict
    import json

    (unknown,) = [f for f in json.loads(result.out)["findings"] if f["code"] == "MC031"]
    assert unknown["severity"] == "warning"
    assert "$EMAL" in unknown["message"] and "did you mean $EMAIL?" in unknown["message"]
    assert unknown["location"].endswith("profile.yaml:24")  # the address line


def test_declared_names_are_not_unknown(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    head = "mdm: simplemdm\nmdm_variables: [work_email]\n"
    spec = mail_spec(tmp_path, address="{{work_email}}", host="{{site}}.example.com", head=head)
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    found = codes(result)
    assert found.count("MC031") == 1  # {{site}} only
    assert "MC030" in found


def test_intune_braces_and_jinja_in_one_spec(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    spec = mail_spec(
        tmp_path,
        address="{{ user }}@example.com",
        host="{{deviceid}}.mail.example.com",
        head="mdm: intune\n",
    )
    out = tmp_path / "user.mobileconfig"
    built = run_cli("build", spec, "-o", out, "--at", AT, "--var", "user=alice")
    assert built.code == 0, built
    mail = next(
        p
        for p in plistlib.loads(out.read_bytes())["PayloadContent"]
        if p["PayloadType"] == "com.apple.mail.managed"
    )
    assert mail["EmailAddress"] == "alice@example.com"  # Jinja rendered it
    assert mail["OutgoingMailServerHostName"] == "{{deviceid}}.mail.example.com"  # Intune's


def test_a_wrong_mdm_is_a_spec_error(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    spec = mail_spec(
        tmp_path, address="a@example.com", host="m.example.com", head="mdm: airwatch\n"
    )
    result = run_cli("validate", spec)
    assert result.code == 2
    assert "mdm" in result.err and "Traceback" not in result.err
    bad = mail_spec(
        tmp_path / "b",
        address="a@example.com",
        host="m.example.com",
        head="mdm: jamf\nmdm_variables: [$EMAIL]\n",
    )
    result = run_cli("validate", bad)
    assert result.code == 2 and "without $" in result.err


def test_secrets_are_never_echoed(tmp_path: Path, run_cli: Callable[..., CLIResult]) -> None:
    """An inline secret that happens to contain $WORD is not read as a Jamf variable."""
    spec = mail_spec(tmp_path, address="$EMAIL", host="mail.example.com", head="mdm: jamf\n")
    text = spec.read_text().replace(
        "      username: alice\n      server_certificate: server/mail.example.com.pem   #",
        "      username: alice\n      password: 'hunter$SECRETPART2'\n"
        "      server_certificate: server/mail.example.com.pem   #",
        1,
    )
    spec.write_text(text)
    result = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert "SECRETPART" not in result.out + result.err


def test_probe_skips_a_host_the_mdm_fills_in() -> None:
    from mobileconfig.probe import spec_targets
    from mobileconfig.spec.load import LoadedYAML

    spec = {
        "mdm": "fleet",
        "mail": [
            {
                "address": "a@example.com",
                "incoming": {"protocol": "imap", "host": "$FLEET_VAR_HOST_UUID.example.com"},
                "outgoing": {"host": "smtp.example.com"},
            }
        ],
    }
    targets, skipped = spec_targets(LoadedYAML(spec, "p.yaml", {(): 1}))
    assert [t.host for t in targets] == ["smtp.example.com"]
    assert any("depends on an MDM variable" in why for _, why in skipped)


def test_fleet_ndes_scep_as_fleet_documents_it(
    tmp_path: Path, write_spec: Callable[..., Path], run_cli: Callable[..., CLIResult]
) -> None:
    """Fleet's NDES proxy: the URL and the challenge are Fleet's variables. The URL check
    waits for Fleet (MC030); the challenge is no inline secret (no MC304, no MC405)."""
    shutil.copy2(ROOT / "examples" / "company" / "certs" / "root-ca.pem", tmp_path / "root.pem")
    spec = write_spec(
        "identifier: com.example.ndes\nname: NDES\nmdm: fleet\ncertificates: [root.pem]\n"
        "identities:\n  device:\n    scep:\n"
        "      url: $FLEET_VAR_NDES_SCEP_PROXY_URL\n"
        "      challenge: $FLEET_VAR_NDES_SCEP_CHALLENGE\n"
        "      subject: CN=$FLEET_VAR_HOST_UUID,O=Example\n"
        "      key_size: 2048\n"
    )
    checked = run_cli("validate", spec, "--at", AT, "--format", "json")
    assert checked.code == 0, checked
    assert codes(checked) == ["MC030"]
    out = tmp_path / "ndes.mobileconfig"
    assert run_cli("build", spec, "-o", out, "--at", AT).code == 0
    (scep,) = [
        p["PayloadContent"]
        for p in plistlib.loads(out.read_bytes())["PayloadContent"]
        if p["PayloadType"] == "com.apple.security.scep"
    ]
    assert scep["URL"] == "$FLEET_VAR_NDES_SCEP_PROXY_URL"
    assert scep["Challenge"] == "$FLEET_VAR_NDES_SCEP_CHALLENGE"
    assert scep["Subject"] == [[["CN", "$FLEET_VAR_HOST_UUID"]], [["O", "Example"]]]
    # Without mdm: the URL is not a URL.
    spec.write_text(spec.read_text().replace("mdm: fleet\n", ""))
    refused = run_cli("validate", spec, "--at", AT)
    assert refused.code == 2 and "URL" in refused.err


def test_an_intune_token_without_mdm_says_how_to_keep_it(
    tmp_path: Path, run_cli: Callable[..., CLIResult]
) -> None:
    spec = mail_spec(tmp_path, address="{{userprincipalname}}", host="mail.example.com")
    result = run_cli("validate", spec, "--at", AT)
    assert result.code == 2
    (line,) = result.err.strip().splitlines()
    assert "undefined variable in template: 'userprincipalname'" in line
    assert "set mdm: intune" in line
