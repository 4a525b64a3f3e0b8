"""A self-contained report of one environment: HTML and Markdown.

The report states the environment (labels, prior, payoffs), the four
values of THEORY §5 (standard ≥ calibrated ≥ max(full transparency, no
disclosure)), the optimal calibrated mechanism as a disclosure followed by
state-independent rules, the calibration verdict on the textbook optimum
and, where it applies, the private-values theorem (THEORY §6).

The HTML page embeds its figures as base64 PNG, so it is one file that can
be mailed or archived; the Markdown file refers to PNG files written beside
it.
"""

from __future__ import annotations

import base64
import html
import logging
from dataclasses import dataclass, field
from pathlib import Path

from calmech.errors import FormatError
from calmech.files import atomic_write_bytes, atomic_write_text
from calmech.mechanisms import Solution
from calmech.plots import (
    Table,
    calibrated_tables,
    environment_tables,
    figure_bytes,
    plot_value_function,
    plot_values,
    standard_tables,
    values_table,
)

__all__ = ["Report", "build_report", "write_report"]

logger = logging.getLogger("calmech")

#: Marks, once the page has loaded, how many of its images decoded; a
#: headless browser can read it back from ``body[data-images-loaded]``.
_LOAD_SCRIPT = """<script>
window.addEventListener("load", function () {
  var imgs = Array.prototype.slice.call(document.images);
  var ok = imgs.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  document.body.setAttribute("data-images-loaded", ok.length + "/" + imgs.length);
});
</script>"""

_STYLE = """<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #222; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
     border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; margin: 0.8rem 0; font-size: 0.92rem; }
caption { text-align: left; font-weight: 600; padding-bottom: 0.3rem; }
th, td { border: 1px solid #ccc; padding: 0.25rem 0.6rem; text-align: left; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
img { max-width: 100%; height: auto; display: block; margin: 0.5rem 0; }
.verdict { padding: 0.5rem 0.8rem; background: #f6f6f6; border-left: 4px solid #888; }
</style>"""


@dataclass
class Report:
    """The pieces of a report, rendered by :meth:`to_html` and :meth:`to_markdown`.

    Attributes
    ----------
    title : str
    sections : list of (heading, list of blocks)
        A block is a paragraph (str), a :class:`~calmech.plots.Table` or a
        figure ``("figure", name, png_bytes, caption)``.
    """

    title: str
    sections: list[tuple[str, list[object]]] = field(default_factory=list)

    def figures(self) -> dict[str, bytes]:
        """Figure file names and their PNG bytes."""
        out = {}
        for _, blocks in self.sections:
            for block in blocks:
                if isinstance(block, tuple) and block[0] == "figure":
                    out[block[1]] = block[2]
        return out

    def to_html(self) -> str:
        """One HTML page with the figures embedded as base64 PNG."""
        esc = html.escape
        parts = [
            "<!DOCTYPE html>",
            '<html lang="en"><head><meta charset="utf-8">',
            f"<title>{esc(self.title)}</title>",
            _STYLE,
            "</head><body>",
            f"<h1>{esc(self.title)}</h1>",
        ]
        for heading, blocks in self.sections:
            parts.append(f"<h2>{esc(heading)}</h2>")
            for block in blocks:
                if isinstance(block, Table):
                    parts.append(block.to_html())
                elif isinstance(block, tuple):
                    _, name, data, caption = block
                    encoded = base64.b64encode(data).decode("ascii")
                    parts.append(
                        f'<figure><img alt="{esc(caption)}" data-name="{esc(name)}" '
                        f'src="data:image/png;base64,{encoded}">'
                        f"<figcaption>{esc(caption)}</figcaption></figure>"
                    )
                else:
                    parts.append(f"<p>{esc(str(block))}</p>")
        parts += [_LOAD_SCRIPT, "</body></html>", ""]
        return "\n".join(parts)

    def to_markdown(self) -> str:
        """The same content in Markdown; figures refer to files beside it."""
        parts = [f"# {self.title}", ""]
        for heading, blocks in self.sections:
            parts += [f"## {heading}", ""]
            for block in blocks:
                if isinstance(block, Table):
                    parts.append(block.to_markdown())
                elif isinstance(block, tuple):
                    _, name, _, caption = block
                    parts.append(f"![{caption}]({name})")
                else:
                    parts.append(str(block))
                parts.append("")
        return "\n".join(parts)


def _environment_text(sol: Solution) -> str:
    env = sol.environment
    M, N, K = env.shape
    money = "with money" if env.transfers else "without money"
    if env.transfers and env.transfer_weight != 1:
        money += f" (payments weigh {env.transfer_weight:g} for the designer)"
    if env.transfer_bounds is not None:
        lo, hi = env.transfer_bounds
        money += f", payments within [{lo:g}, {hi:g}]"
    kind = "private" if sol.private_values else "interdependent"
    return (
        f"{K} states ({', '.join(env.states)}), {N} types "
        f"({', '.join(env.types)}), {M} allocations "
        f"({', '.join(env.allocations)}); {money}; {kind} values. "
        "Prior over states: "
        + ", ".join(
            f"P({s}) = {p:.4g}"
            for s, p in zip(env.states, env.state_prior, strict=True)
        )
        + "."
    )


def build_report(sol: Solution) -> Report:
    """Assemble the report of a solution (figures rendered, nothing written).

    Parameters
    ----------
    sol : Solution
        From :func:`calmech.solve`.

    Returns
    -------
    Report

    Examples
    --------
    >>> import calmech
    >>> rep = build_report(calmech.solve(calmech.examples.quality()))
    >>> [heading for heading, _ in rep.sections]  # doctest: +NORMALIZE_WHITESPACE
    ['Environment', 'Values', 'Optimal calibrated mechanism',
     'The textbook optimum', 'What the numbers mean']
    >>> sorted(rep.figures())
    ['value_function.png', 'values.png']
    """
    env = sol.environment
    report = Report(f"Calibrated mechanism design: {env.name}")
    report.sections.append(
        ("Environment", [_environment_text(sol), *environment_tables(env)])
    )

    # Values, as a table and as bars.
    values_blocks: list[object] = [
        values_table(sol),
        ("figure", "values.png", figure_bytes(plot_values(sol)), "The four values"),
    ]
    report.sections.append(("Values", values_blocks))

    # The calibrated optimum: the value function and the signals.
    cal = sol.calibrated
    cal_blocks: list[object] = []
    if cal.signals:
        cal_blocks.append(
            f"Disclose one of {len(cal.signals)} signal(s), then run the "
            f"state-independent rule below; value {cal.value:.6g} "
            f"(certified bound {cal.upper_bound:.6g}; {cal.method})."
        )
    else:
        cal_blocks.append(f"No calibrated mechanism: {cal.message}.")
    if env.shape[2] in (2, 3) and cal.signals:
        caption = (
            "V over beliefs about the state, its concave envelope, the prior and "
            "the optimal posteriors"
        )
        fig = plot_value_function(sol)
        cal_blocks.append(("figure", "value_function.png", figure_bytes(fig), caption))
    cal_blocks.extend(calibrated_tables(sol))
    report.sections.append(("Optimal calibrated mechanism", cal_blocks))

    # The textbook optimum and its calibration verdict.
    rep = sol.standard.calibration
    std_blocks: list[object] = []
    if rep is not None:
        cells = " | ".join("{" + ", ".join(c) + "}" for c in rep.partition)
        std_blocks.append(
            f"Value {sol.standard.value:.6g}. Its rules reveal the partition "
            f"{cells}. Verdict: {rep.verdict}."
        )
        std_blocks.extend(f"Violation: {v}" for v in rep.violations[:8])
        if len(rep.violations) > 8:
            std_blocks.append(f"... and {len(rep.violations) - 8} more violation(s).")
    else:
        std_blocks.append(f"No textbook optimum: {sol.standard.message}.")
    std_blocks.extend(standard_tables(sol))
    report.sections.append(("The textbook optimum", std_blocks))
    report.sections.append(("What the numbers mean", list(sol.explain())))
    return report


def write_report(
    sol: Solution, out_dir: str | Path, force: bool = False
) -> dict[str, Path]:
    """Write ``report.html``, ``report.md`` and the figures into a folder.

    Parameters
    ----------
    sol : Solution
    out_dir : str or Path
        Created if missing (its parent must exist).
    force : bool, default False
        Overwrite existing files.

    Returns
    -------
    dict
        ``{"html": path, "markdown": path, <figure name>: path, ...}``.

    Raises
    ------
    FormatError
        When a file exists and ``force`` is false (nothing is written then).

    Examples
    --------
    >>> import calmech, pathlib, tempfile
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "rep"
    >>> paths = write_report(calmech.solve(calmech.examples.monopoly()), out)
    >>> sorted(p.name for p in paths.values())
    ['report.html', 'report.md', 'value_function.png', 'values.png']
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise FormatError("--out", "must be a folder", str(out))
    if not out.parent.is_dir():
        raise FormatError("--out", "parent folder does not exist", str(out.parent))
    report = build_report(sol)
    names = ["report.html", "report.md", *report.figures()]
    if not force:
        for name in names:
            if (out / name).exists():
                raise FormatError(
                    "path", "exists; pass --force to overwrite", str(out / name)
                )
    out.mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    for name, data in report.figures().items():
        atomic_write_bytes(out / name, data, force=force)
        paths[name] = out / name
    atomic_write_text(out / "report.html", report.to_html(), force=force)
    atomic_write_text(out / "report.md", report.to_markdown(), force=force)
    paths["html"] = out / "report.html"
    paths["markdown"] = out / "report.md"
    logger.info("report written to %s", out)
    return paths
