"""``python -m cardiacml.cli``."""

from . import main

main()
