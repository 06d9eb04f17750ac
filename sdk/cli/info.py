"""``yolopose info``: what is inside a model artifact and which backends can run it."""
from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

import click

from ._options import backend_option

__all__ = ["info"]

MIB = 1024.0 * 1024.0  # every size yolopose prints is in MiB


def _backends(path) -> List[Dict[str, Any]]:
    from yolopose.runtimes import backends_for

    rows = []
    for spec in backends_for(path):
        row: Dict[str, Any] = {"backend": spec.name, "installed": spec.installed(), "devices": list(spec.devices)}
        if spec.installed():
            try:
                row["devices_here"] = spec.runtime_class().available_devices()
            except Exception as exc:  # a broken engine installation is worth reporting, not crashing on
                row["installed"] = False
                row["problem"] = f"{type(exc).__name__}: {exc}"
        if not row["installed"]:
            row["install"] = spec.install_hint()
        rows.append(row)
    return rows


@click.command("info")
@click.argument("model", type=click.Path(path_type=str), required=False)
@backend_option(help="Inference engine used to open the model; auto: the first installed one that reads it.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of text.")
def info(model: Optional[str], backend: str, as_json: bool) -> None:
    """Print MODEL's metadata, inputs, outputs, quantization and the backends that can run it.

    Without MODEL: the bundled default model (the one `yolopose predict` runs). Sizes are in MiB
    (1 MiB = 1,048,576 bytes)."""
    from yolopose._assets import default_model_path, resolve_bundled
    from yolopose._plan import ModelPlan
    from yolopose.bench.runner import _artifact_size as artifact_size  # all files of the artifact, as bench counts them
    from yolopose.core.errors import BackendNotAvailableError, YoloPoseError
    from yolopose.runtimes import load_runtime, resolve_model_path

    try:
        path = default_model_path(backend) if model is None else resolve_model_path(resolve_bundled(model))
        report: Dict[str, Any] = {"file": str(path), "size_bytes": artifact_size(path), "backends": _backends(path)}
        if model is None:
            report["bundled_default"] = True
        try:
            with load_runtime(path, backend=backend) as rt:
                report.update(rt.describe())
                plan = ModelPlan.from_runtime(rt)
                report["output_layout"] = plan.output_layout.name
                report["metadata"] = plan.metadata.to_dict()
                report["embedded_metadata"] = rt.metadata is not None
                report["quantization"] = {name: {"scale": q.scale, "zero_point": q.zero_point, "dtype": q.dtype} for name, q in rt.quantization.items()}
        except BackendNotAvailableError as exc:
            report["error"] = str(exc)
    except YoloPoseError as exc:
        raise click.ClickException(str(exc)) from None
    if as_json:
        click.echo(json.dumps(report, indent=1))
        return
    _print_text(report)


def _shape(shape) -> str:
    return "(" + ", ".join("?" if d is None else str(d) for d in shape) + ")"


def _print_text(r: Dict[str, Any]) -> None:
    bundled = "  [the bundled default model]" if r.get("bundled_default") else ""
    click.echo(f"file:      {r['file']} ({r['size_bytes'] / MIB:.2f} MiB){bundled}")
    if "error" in r:
        click.echo(f"cannot open it: {r['error']}")
    meta = r.get("metadata")
    if meta:
        embedded = "embedded" if r.get("embedded_metadata") else "inferred (no yolopose metadata)"
        click.echo(f"model:     {meta['model']} {meta.get('version') or ''}  [{embedded}]")
        click.echo(f"input:     {meta['imgsz'][0]}x{meta['imgsz'][1]} {meta['input_layout']}  output layout: {r.get('output_layout', meta['output_format'])}")
        if meta["output_format"] == "raw":
            click.echo(f"strides:   {meta['strides']}  anchors/level: {len(meta['anchors'][0])}")
        click.echo(f"keypoints: {meta['num_keypoints']}  classes: {meta['num_classes']}  precision: {meta['precision']}"
                   f"  quantization: {meta['quantization'] or 'none'}")
        extra = meta.get("extra") or {}
        if extra.get("int8_recipe"):
            floats = ", ".join(extra.get("float_layers") or []) or "none (full integer)"
            click.echo(f"int8:      recipe {extra['int8_recipe']}; float layers: {floats}")
            if extra.get("calibration"):
                click.echo(f"           calibrated on {extra['calibration']}")
        for key in ("trained_on", "description"):
            if meta.get(key):
                click.echo(f"{key.replace('_', ' ') + ':':<10} {meta[key]}")
    if "backend" in r:
        click.echo(f"opened with {r['backend']} on {r['device']}")
        for kind in ("inputs", "outputs"):
            click.echo(f"{kind}:")
            for t in r[kind]:
                q = t.get("quantization")
                qtext = f"  scale={q['scale']:.6g} zero_point={q['zero_point']}" if q else ""
                click.echo(f"  {t['name']:<28} {_shape(t['shape']):<22} {t['dtype']}{qtext}")
    click.echo("backends:")
    for b in r["backends"]:
        state = f"installed, devices here: {', '.join(b.get('devices_here', []))}" if b["installed"] else f"not installed ({b['install']})"
        click.echo(f"  {b['backend']:<12} {state}")
