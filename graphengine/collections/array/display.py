"""The Jupyter view of an array: an SVG of the chunk grid beside a table of sizes.

Counting tasks reads each layer's key count (a blockwise layer knows it without
generating tasks), so displaying a huge lazy array is instant.

    >>> import graphengine.array as ga
    >>> "<svg" in ga.ones((100, 100), chunks=10)._repr_html_()
    True
"""
from __future__ import annotations

import html
import math
from typing import Any

__all__ = ["array_html", "svg_grid", "format_bytes", "count_tasks"]

#: Most grid lines drawn per axis; beyond that the picture shows a shaded block.
MAX_LINES = 50


def format_bytes(n: float) -> str:
    """``1.5 MiB``-style size."""
    if n is None or (isinstance(n, float) and math.isnan(n)):
        return "unknown"
    for unit in ("B", "kiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{n:.2f} {unit}" if unit != "B" else f"{int(n)} B"
        n /= 1024
    return f"{n:.2f} PiB"


def count_tasks(graph: Any) -> int:
    """Number of tasks in a layered graph, without materializing lazy layers."""
    total = 0
    for layer in graph.layers.values():
        keys = layer.output_keys()
        total += len(keys) if hasattr(keys, "__len__") else sum(1 for _ in keys)
    return total


def _offsets(chunks: tuple, size: float) -> list[float]:
    total = sum(chunks) or 1
    out, acc = [0.0], 0
    for c in chunks:
        acc += c
        out.append(acc / total * size)
    return out


def svg_grid(chunks: tuple, size: int = 120) -> str:
    """An SVG picture of the last two axes' block boundaries."""
    if any(isinstance(n, float) and math.isnan(n) for c in chunks for n in c):
        return "<p>(chunk lengths unknown)</p>"
    if len(chunks) == 0:
        chunks = ((1,), (1,))
    elif len(chunks) == 1:
        chunks = ((1,), chunks[0])
    rows, cols = chunks[-2], chunks[-1]
    h_total, w_total = max(sum(rows), 1), max(sum(cols), 1)
    ratio = h_total / w_total
    width = size if ratio <= 1 else max(size / ratio, 10)
    height = max(size * ratio, 10) if ratio <= 1 else size
    lines = []
    if len(rows) <= MAX_LINES:
        for y in _offsets(rows, height):
            lines.append(f'<line x1="0" y1="{y:.1f}" x2="{width:.1f}" y2="{y:.1f}" '
                         'style="stroke-width:1" />')
    if len(cols) <= MAX_LINES:
        for x in _offsets(cols, width):
            lines.append(f'<line x1="{x:.1f}" y1="0" x2="{x:.1f}" y2="{height:.1f}" '
                         'style="stroke-width:1" />')
    dense = len(rows) > MAX_LINES or len(cols) > MAX_LINES
    fill = "#8B4903" if dense else "#ECB172"
    body = (f'<polygon points="0,0 {width:.1f},0 {width:.1f},{height:.1f} 0,{height:.1f}" '
            f'style="fill:{fill};fill-opacity:0.8;stroke-width:0" />')
    return (f'<svg width="{width + 10:.0f}" height="{height + 10:.0f}" style="stroke:rgb(0,0,0)">'
            f'<g transform="translate(5,5)">{body}{"".join(lines)}</g></svg>')


def array_html(x: Any) -> str:
    """Table (bytes, shape, chunk shape, dtype, blocks, tasks) and chunk-grid picture."""
    nbytes = x.nbytes
    chunk_bytes = math.prod(x.chunksize) * x.dtype.itemsize if x.ndim else x.dtype.itemsize
    rows = [
        ("Bytes", format_bytes(nbytes), format_bytes(chunk_bytes)),
        ("Shape", str(x.shape), str(x.chunksize)),
        ("Dtype", str(x.dtype), ""),
        ("Blocks", f"{x.npartitions} blocks", ""),
        ("Tasks", f"{count_tasks(x._graph)} tasks in {len(x._graph.layers)} layers", ""),
    ]
    table = "".join(f"<tr><th>{html.escape(a)}</th><td>{html.escape(b)}</td>"
                    f"<td>{html.escape(c)}</td></tr>" for a, b, c in rows)
    return ('<table><tr><td><table><thead><tr><td></td><th>Array</th><th>Chunk</th></tr>'
            f'</thead><tbody>{table}</tbody></table></td><td>{svg_grid(x.chunks)}</td></tr>'
            '</table>')
