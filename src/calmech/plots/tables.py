"""The four values as a bar chart and the mechanisms as readable tables.

The values are ordered as THEORY §5 guarantees them,
``max(no disclosure, full transparency) ≤ calibrated ≤ standard``. A
two-stage mechanism is shown as one table per signal (probability,
posterior, then for each report the probability of every allocation and
the payment); the textbook optimum as one table per state.

Tables are plain data (:class:`Table`) with two renderings, HTML and
Markdown, so that reports can embed them without a figure.
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from calmech.plots.value import VALUE_COLOURS, VALUE_NAMES, _fmt, _new_figure

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from calmech.environment import Environment
    from calmech.mechanisms import Solution

__all__ = [
    "Table",
    "calibrated_tables",
    "environment_tables",
    "plot_values",
    "standard_tables",
    "values_table",
]

#: Order of the bars, top to bottom.
VALUE_ORDER = ("standard", "calibrated", "full_transparency", "no_disclosure")


@dataclass(frozen=True)
class Table:
    """A titled table of text cells.

    Examples
    --------
    >>> t = Table("prices", ("type", "price"), (("low", "1"), ("high", "2")))
    >>> print(t.to_markdown())
    **prices**
    <BLANKLINE>
    | type | price |
    |---|---|
    | low | 1 |
    | high | 2 |
    """

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]

    def to_markdown(self) -> str:
        """GitHub-flavoured Markdown, the title in bold above."""

        def line(cells: tuple[str, ...]) -> str:
            return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

        parts = [f"**{self.title}**", "", line(self.header)]
        parts.append("|" + "---|" * len(self.header))
        parts.extend(line(row) for row in self.rows)
        return "\n".join(parts)

    def to_html(self) -> str:
        """An HTML ``<table>`` with the title as its caption."""
        esc = html.escape
        head = "".join(f"<th>{esc(c)}</th>" for c in self.header)
        body = "".join(
            "<tr>" + "".join(_html_cell(c) for c in row) + "</tr>" for row in self.rows
        )
        return (
            f"<table><caption>{esc(self.title)}</caption>"
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        )


def _html_cell(text: str) -> str:
    """A ``<td>``, marked ``num`` when it holds a number (right-aligned)."""
    try:
        float(text.split(" / ")[0])
    except ValueError:
        return f"<td>{html.escape(text)}</td>"
    return f'<td class="num">{html.escape(text)}</td>'


def _num(x: float, digits: int = 4) -> str:
    x = float(x)
    if not math.isfinite(x):
        return "infeasible" if x < 0 else "unbounded"
    return f"{x + 0.0:.{digits}g}"


def _belief(labels: tuple[str, ...], belief: np.ndarray) -> str:
    return ", ".join(f"{s} {p:.3g}" for s, p in zip(labels, belief, strict=True))


def values_table(sol: Solution) -> Table:
    """The four values with what each means.

    Examples
    --------
    >>> import calmech
    >>> t = values_table(calmech.solve(calmech.examples.monopoly()))
    >>> t.rows[0]
    ('standard', '1.5', 'textbook optimum; not sustainable if not calibrated')
    """
    meaning = {
        "standard": "textbook optimum; not sustainable if not calibrated",
        "calibrated": "best mechanism that survives learning",
        "full_transparency": "reveal the state, then screen",
        "no_disclosure": "reveal nothing, one mechanism",
    }
    v = sol.values
    rows = tuple((VALUE_NAMES[k], _num(v[k], 6), meaning[k]) for k in VALUE_ORDER)
    return Table("Designer's expected payoff", ("benchmark", "value", "meaning"), rows)


def environment_tables(env: Environment) -> list[Table]:
    """The prior and the payoffs, one table per state.

    Examples
    --------
    >>> from calmech.examples import quality
    >>> [t.title for t in environment_tables(quality())][:2]
    ['Prior P(type, state)', "Payoffs in state 'good' (agent u / designer v)"]
    """
    M, N, K = env.shape
    prior_rows = tuple(
        (env.types[n], *(_num(env.prior[n, k]) for k in range(K))) for n in range(N)
    )
    tables = [
        Table("Prior P(type, state)", ("type", *env.states), prior_rows),
    ]
    for k, state in enumerate(env.states):
        rows = tuple(
            (
                env.allocations[m],
                *(
                    f"{_num(env.agent_payoff[m, n, k])} / "
                    f"{_num(env.designer_payoff[m, n, k])}"
                    for n in range(N)
                ),
            )
            for m in range(M)
        )
        tables.append(
            Table(
                f"Payoffs in state {state!r} (agent u / designer v)",
                ("allocation", *env.types),
                rows,
            )
        )
    return tables


def calibrated_tables(sol: Solution) -> list[Table]:
    """One table per signal of the optimal calibrated mechanism.

    Rows are reports (types); columns the probability of each allocation
    and, with money, the payment.

    Examples
    --------
    >>> import calmech
    >>> tables = calibrated_tables(calmech.solve(calmech.examples.quality()))
    >>> len(tables), tables[0].header
    (2, ('report', 'P(no sale)', 'P(sale)', 'payment'))
    """
    env = sol.environment
    M, N, _ = env.shape
    header = ("report", *(f"P({a})" for a in env.allocations))
    if env.transfers:
        header += ("payment",)
    tables = []
    for s, sig in enumerate(sol.calibrated.signals):
        rows = []
        for n, label in enumerate(env.types):
            row = [label, *(_num(sig.allocation[m, n]) for m in range(M))]
            if env.transfers:
                row.append(_num(sig.transfers[n], 6))
            rows.append(tuple(row))
        title = (
            f"Signal {s + 1}: probability {sig.probability:.4g}, posterior "
            f"({_belief(env.states, sig.posterior)}), value {_num(sig.value, 6)}"
        )
        tables.append(Table(title, header, tuple(rows)))
    return tables


def standard_tables(sol: Solution) -> list[Table]:
    """The textbook optimum, one table per state (empty if it does not exist).

    Examples
    --------
    >>> import calmech
    >>> [t.title for t in standard_tables(calmech.solve(calmech.examples.monopoly()))]
    ["Textbook optimum in state 'L'", "Textbook optimum in state 'H'"]
    """
    env = sol.environment
    std = sol.standard
    if std.allocation is None:
        return []
    M, N, K = env.shape
    header = ("report", *(f"P({a})" for a in env.allocations))
    if env.transfers:
        header += ("payment",)
    tables = []
    for k, state in enumerate(env.states):
        rows = []
        for n, label in enumerate(env.types):
            row = [label, *(_num(std.allocation[m, n, k]) for m in range(M))]
            if env.transfers:
                row.append(_num(std.transfers[n, k], 6))
            rows.append(tuple(row))
        tables.append(
            Table(f"Textbook optimum in state {state!r}", header, tuple(rows))
        )
    return tables


def plot_values(sol: Solution) -> Figure:
    """A horizontal bar chart of the four values, each labelled.

    Infeasible or unbounded values have no bar and say so.

    Examples
    --------
    >>> import calmech
    >>> fig = plot_values(calmech.solve(calmech.examples.quality()))
    >>> [t.get_text() for t in fig.axes[0].get_yticklabels()]
    ['standard', 'calibrated', 'full transparency', 'no disclosure']
    """
    v = sol.values
    fig = _new_figure(6.4, 2.9)
    ax = fig.add_subplot()
    ys = np.arange(len(VALUE_ORDER))[::-1]
    finite = [v[k] for k in VALUE_ORDER if math.isfinite(v[k])]
    top = max([abs(x) for x in finite], default=1.0) or 1.0
    for y, key in zip(ys, VALUE_ORDER, strict=True):
        value = v[key]
        if math.isfinite(value):
            ax.barh(y, value, color=VALUE_COLOURS[key], height=0.6)
        ax.text(
            value if math.isfinite(value) else 0.0,
            y,
            f" {_fmt(value)}",
            va="center",
            ha="left",
            fontsize=9,
        )
    ax.set_yticks(ys, [VALUE_NAMES[k] for k in VALUE_ORDER])
    low = min(0.0, min(finite, default=0.0))
    ax.set_xlim(low * 1.15, top * 1.2)
    ax.axvline(0, color="black", lw=0.6)
    ax.set_xlabel("designer's expected payoff")
    ax.set_title(f"{sol.environment.name}: the four values", fontsize=10)
    ax.grid(axis="x", alpha=0.25)
    return fig
