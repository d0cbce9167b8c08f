"""`python -m caseline`: the same as the `caseline` command."""

from caseline.cli import main

main()
