"""``python -m wirekit`` runs the CLI."""

from wirekit.cli.main import run

run()
