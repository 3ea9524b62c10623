"""``python -m mobileconfig`` runs the command line."""

from mobileconfig.cli import run

run()
