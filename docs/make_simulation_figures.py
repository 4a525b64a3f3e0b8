"""Draw the figures of docs/simulation.md and print the numbers it quotes.

.venv/bin/python docs/make_simulation_figures.py
"""

from __future__ import annotations

from pathlib import Path

from calmech.examples import monopoly, quality
from calmech.plots.simulation import plot_beliefs, plot_simulation, save_figure
from calmech.simulation import simulate

FIGURES = Path(__file__).parent / "figures"
ROUNDS, RUNS, SEED = 2000, 4000, 1


def main() -> None:
    FIGURES.mkdir(exist_ok=True)
    for example in (monopoly, quality):
        env = example()
        for mechanism in ("standard", "calibrated"):
            res = simulate(env, mechanism, rounds=ROUNDS, runs=RUNS, random_state=SEED)
            s = res.summary
            print(
                f"{env.name:9s} {mechanism:10s} promised {res.promised_value:.4f} "
                f"long run {res.long_run_value:.4f} | simulated rounds "
                f"{s['window'][0]}-{s['window'][1]}: payoff "
                f"{s['designer_payoff']:.4f} ± {s['designer_payoff_se']:.4f} "
                f"(predicted {s['predicted_designer_payoff']:.4f}), truthful "
                f"{s['truthful_share']:.4f} (predicted "
                f"{s['predicted_truthful_share']:.4f}), exit {s['exit_share']:.4f}"
            )
            fig = plot_simulation(res, title=f"{env.name}: {mechanism} mechanism")
            name = f"simulation_{env.name}_{mechanism}.png"
            save_figure(fig, FIGURES / name, force=True, dpi=90)
        # Monopoly: the textbook optimum's prices reveal the state at once;
        # quality: the calibrated mechanism reveals the signal, not the state.
        shown = "standard" if env.name == "monopoly" else "calibrated"
        paths = simulate(
            env, shown, rounds=200, runs=12, keep_paths=True, random_state=SEED
        )
        fig = plot_beliefs(paths, runs=5, title=f"{env.name}: {shown} mechanism")
        save_figure(
            fig, FIGURES / f"simulation_{env.name}_beliefs.png", force=True, dpi=90
        )


if __name__ == "__main__":
    main()
