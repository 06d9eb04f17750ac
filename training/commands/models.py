"""``yolopose-train models``: the registered models with their size at a given input size."""
from __future__ import annotations

import json
from typing import Any, Dict, List

import click

__all__ = ["models", "model_table"]


def model_table(imgsz: int, names: List[str]) -> List[Dict[str, Any]]:
    """One row per model: name, levels, strides, params, GMACs (batch 1, BN folded) at ``imgsz``."""
    import torch
    from tqdm import tqdm

    from yolopose.training.models import check_imgsz, count_macs, count_params, create_model, get_config

    rows = []
    for name in tqdm(names, desc="measuring models", unit="model", leave=False, disable=None):
        config = get_config(name)
        check_imgsz(imgsz, config.max_stride, name=f"--imgsz for {name}")
        with torch.device("meta"):  # shapes only: no weights allocated, no arithmetic done
            model = create_model(name)
        rows.append(
            {
                "name": name,
                "levels": config.num_levels,
                "strides": list(config.strides),
                "params": count_params(model),
                "gmacs": round(count_macs(model, imgsz) / 1e9, 3),
                "imgsz": imgsz,
                "activation": config.activation,
            }
        )
    return rows


def _format_table(rows: List[Dict[str, Any]], imgsz: int) -> str:
    header = ("model", "levels", "strides", "act", "params", f"GMACs@{imgsz}")
    body = [
        (r["name"], str(r["levels"]), "/".join(map(str, r["strides"])), r["activation"], f"{r['params']:,}", f"{r['gmacs']:.2f}")
        for r in rows
    ]
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    align_right = (False, True, False, False, True, True)

    def fmt(row: tuple) -> str:
        cells = [c.rjust(w) if right else c.ljust(w) for c, w, right in zip(row, widths, align_right)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([fmt(header), rule] + [fmt(r) for r in body])


@click.command("models")
@click.option("--imgsz", default=640, show_default=True, type=click.IntRange(min=1), help="Square input size in pixels (a multiple of the model's largest stride: 64 for P6 models, 32 for P5).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list of {name, params, gmacs, imgsz, strides} instead of a table.")
@click.option("--name", "names", multiple=True, metavar="MODEL", help="Only these models (repeatable); default: all registered models.")
def models(imgsz: int, as_json: bool, names: tuple) -> None:
    """List the registered models with parameters and GMACs at --imgsz.

    GMACs are multiply-accumulates of conv and linear layers with batch norm folded, batch 1.
    """
    from yolopose.core.errors import ConfigError
    from yolopose.training.models import get_config, list_models

    try:
        if names:
            selected = [get_config(n).name for n in names]
        else:  # every model the size works for; say which ones it does not
            selected = [n for n in list_models() if imgsz % get_config(n).max_stride == 0]
            skipped = sorted(set(list_models()) - set(selected))
            if not selected:
                raise ConfigError(f"--imgsz {imgsz} is not a multiple of 32, so no registered model can run at it")
            if skipped:
                click.echo(f"skipped (--imgsz {imgsz} is not a multiple of their stride 64): {', '.join(skipped)}", err=True)
        rows = model_table(imgsz, selected)
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if as_json:
        keys = ("name", "params", "gmacs", "imgsz", "strides")
        click.echo(json.dumps([{k: r[k] for k in keys} for r in rows], indent=2))
    else:
        click.echo(_format_table(rows, imgsz))
