"""`python -m cli`: the `appliance` command (how the box starts its own background runs)."""
from cli import main

main(prog_name="appliance")
