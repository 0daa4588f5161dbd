"""The `sunledger` command line: a thin face over the ledger's operations (no logic of its own).

Each command group lives in a file of its own: `store` (init: creating a store on purpose),
`evidence` (verify, export), `log` (checkpoints and proofs), `trading` (simulate, replay,
statistics, warnings, dossiers, reactions, the demo), `reports` (witness reports), `keys` (keys
and actors), `witness` (cosigning), `serve` (the HTTP API); `options` is what they share. The HTTP API is the other
face of the same operations, beside this package in `api/`."""

from __future__ import annotations

import click

from . import evidence, keys, log, reports, serve, store, trading, witness


class _Sunledger(click.Group):
    """The root group: an input that exhausts the reader's resources (JSON nested thousands
    deep, a structure too large for memory) is refused like any other bad input, with a line
    that says so and exit 2, whatever command read it."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except RecursionError:
            click.echo("sunledger: the input nests too deeply to be read; it is not one of "
                       "Sunledger's files", err=True)
            ctx.exit(2)
        except MemoryError:
            click.echo("sunledger: the input is too large to be read", err=True)
            ctx.exit(2)


@click.group(cls=_Sunledger, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sunledger")
def cli() -> None:
    """Sunledger: the tamper-evident ledger of a public resource trading centre.

    Every trading action is a signed, hash-chained event; `verify` checks that none was
    altered, removed, reordered or inserted. Create a store with `sunledger init`; the other
    commands refuse a missing one (`demo` and `simulate` make their own)."""


for group in (store, evidence, log, trading, reports, keys, witness, serve):
    for command in group.COMMANDS:
        cli.add_command(command)


def main() -> None:
    cli(prog_name="sunledger")
