"""``python -m statevcs`` runs the command line."""

from .cli.entry import main

main()
