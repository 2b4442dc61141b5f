"""Commands are imported only when used (cli/wiring.py COMMANDS): each entry must load,
be a click command, and carry the name it is listed under, or `appliance <name>` would break."""
import click

from cli import main
from cli.wiring import COMMANDS


def test_every_wired_command_loads_under_its_name():
    ctx = click.Context(main)
    assert main.list_commands(ctx) == sorted(COMMANDS)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert isinstance(command, click.Command) and command.name == name, name
    assert main.get_command(ctx, "no-such-command") is None
