"""``python -m statevcs`` runs the command line."""

from .cli.main import main

main()
