"""``asgi-scope rules``: the spec checker's catalogue (:mod:`asgi_scope.trace.rules`).

One line a rule (id, severity, title), the whole records as JSON, or the
Markdown table the README carries (generated from here, never by hand).
"""

from __future__ import annotations

import json

import click

from asgi_scope.cli.options import CONTEXT


@click.command("rules", context_settings=CONTEXT)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown"]),
    default="text",
    show_default=True,
    help="text: a line a rule; json: every field; markdown: the README's table.",
)
@click.option("--severity", multiple=True, help="Only rules of this severity (repeatable).")
def rules(fmt: str, severity: tuple[str, ...]) -> None:
    """List the ASGI rules the spec checker knows: id, severity and what each asks
    (--ignore takes the ids; --format json gives the spec's words and a fix)."""
    from asgi_scope.trace.rules import RULES

    chosen = [r for r in RULES.values() if not severity or r.severity in severity]
    if fmt == "json":
        click.echo(json.dumps([r.record() for r in chosen], indent=2))
    elif fmt == "markdown":
        click.echo(markdown_table(chosen))
    else:
        width = max((len(r.id) for r in chosen), default=0)
        for r in chosen:
            click.echo(f"{r.id:<{width}}  {r.severity:<7}  {r.title}")


def markdown_table(chosen: list) -> str:
    """The rules as a Markdown table: layer, id, severity, what it asks, where."""
    lines = ["| layer | rule | severity | asks | spec |", "|---|---|---|---|---|"]
    lines += [
        f"| {r.layer} | `{r.id}` | {r.severity} | {r.title.replace('|', '/')} | {r.section} |"
        for r in chosen
    ]
    return "\n".join(lines)
