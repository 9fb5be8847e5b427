"""The training-curve plot written into every bundle (curves.png)."""

from __future__ import annotations

import csv
from pathlib import Path


def plot_history(history_csv: Path, out_png: Path) -> Path | None:
    """Loss and validation loss per epoch; None when there is no history to draw."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not Path(history_csv).is_file():
        return None
    with open(history_csv) as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return None
    epochs = [int(r["epoch"]) + 1 for r in rows]
    fig, ax = plt.subplots(figsize=(6, 3.5), dpi=100)
    for key, label in (("loss", "train"), ("val_loss", "validation")):
        if key in rows[0]:
            ax.plot(epochs, [float(r[key]) for r in rows], marker="o", label=label)
    ax.set_xlabel("epoch")
    ax.set_ylabel("cross-entropy per token")
    ax.set_title("Training curves")
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(out_png)
    plt.close(fig)
    return Path(out_png)
