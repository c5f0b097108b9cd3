"""``python -m autoissue`` runs the command line."""

from autoissue.cli import main

main()
