"""The command line: ``mobileconfig COMMAND`` (and ``python -m mobileconfig COMMAND``).

:mod:`mobileconfig.cli.main` holds the parser and the exit path; each subcommand is a
module of its own here; :mod:`mobileconfig.cli.common` holds what they share. Nothing
outside this package imports it: the library returns data, and the command line renders it.
"""

from mobileconfig.cli.main import main, run

__all__ = ["main", "run"]
