"""``mobileconfig schema``: the spec's JSON Schema, for editor completion.

The smallest subcommand, and the pattern for a new one: ``register`` adds the command
and its arguments, ``run`` does the work (heavy imports inside it) and returns the exit
status. Then list the module in :data:`mobileconfig.cli.main.COMMANDS`.
"""

from __future__ import annotations

import argparse

from mobileconfig.cli.common import Commands, Out

__all__ = ["register", "run"]


def register(commands: Commands) -> None:
    commands.add(
        "schema",
        run,
        help="print the spec's JSON Schema",
        description="Print the JSON Schema of profile.yaml, for editor completion: "
        "mobileconfig schema > mobileconfig.schema.json",
    )


def run(args: argparse.Namespace, out: Out) -> int:
    from mobileconfig.spec.schema import spec_json_schema

    out.json(spec_json_schema(), sort_keys=True)
    return 0
