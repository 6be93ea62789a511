"""Tables and plots into Markdown and into one self-contained HTML page.

Cells arrive typed (:class:`reporting.collect.Cell`: text and tone); the page colours
a cell by its tone, and nothing here reads a cell's text back."""

from __future__ import annotations

import base64
import html

from reporting.collect import Cell, Table, Tone

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1300px; color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 1.5em; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f0f0f0; }
td.bad { background: #fde2e2; } td.good { background: #e5f5e5; }
p.note { color: #555; font-size: 0.85em; }
"""
# Marks <body data-plots-rendered="N"> once N images have decoded, so a headless
# browser test can tell the plots really render.
_SCRIPT = """
window.addEventListener('load', function () {
  var ok = Array.prototype.filter.call(document.images, function (i) {
    return i.complete && i.naturalWidth > 0;
  });
  document.body.setAttribute('data-plots-rendered', String(ok.length));
});
"""


def _text(cell: str | Cell) -> str:
    return cell.text if isinstance(cell, Cell) else cell


def _md_cell(cell: str | Cell) -> str:
    return _text(cell).replace("|", "\\|").replace("\n", " ")


def markdown_table(table: Table) -> str:
    lines = [f"## {table.title}", ""]
    if not table.rows:
        return "\n".join([*lines, f"_{table.empty}_", ""])
    lines.append("| " + " | ".join(map(_md_cell, table.header)) + " |")
    lines.append("|" + "---|" * len(table.header))
    lines += ["| " + " | ".join(map(_md_cell, row)) + " |" for row in table.rows]
    if table.note:
        lines += ["", table.note]
    return "\n".join([*lines, ""])


def markdown_image(path: str, caption: str) -> str:
    """An image line of the Markdown report: ``path`` relative to the report, ``caption`` as its text."""
    return f"![{caption}]({path})\n"


def _td(cell: str | Cell) -> str:
    tone = cell.tone if isinstance(cell, Cell) else Tone.NEUTRAL
    css = "" if tone == Tone.NEUTRAL else f' class="{tone}"'
    return f"<td{css}>{html.escape(_text(cell).strip('`'))}</td>"


def html_table(table: Table, table_id: str) -> str:
    parts = [f"<h2>{html.escape(table.title)}</h2>"]
    if not table.rows:
        return parts[0] + f"<p><em>{html.escape(table.empty)}</em></p>"
    parts.append(f'<table id="{table_id}"><thead><tr>')
    parts += [f"<th>{html.escape(h)}</th>" for h in table.header]
    parts.append("</tr></thead><tbody>")
    for row in table.rows:
        parts.append(f"<tr>{''.join(map(_td, row))}</tr>")
    parts.append("</tbody></table>")
    if table.note:
        parts.append(f'<p class="note">{html.escape(table.note)}</p>')
    return "".join(parts)


def html_image(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def html_page(title: str, intro: str, sections: list[str]) -> str:
    return (
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style><script>{_SCRIPT}</script></head><body>"
        f"<h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>{''.join(sections)}</body></html>"
    )
