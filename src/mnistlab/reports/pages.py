"""The pages themselves: what goes on the report of one run, the leaderboard of several and a sweep's page.

Each function takes what a workflow already loaded (runs, their test data and evaluation, a sweep's tables),
draws the figures and renders one template; nothing here reads a run folder or trains anything.
"""

from __future__ import annotations

import datetime
from os.path import relpath
from pathlib import Path

from mnistlab import viz
from mnistlab.errors import ParameterError
from mnistlab.fileio import MAX_TEXT_BYTES, markdown_text, read_bounded
from mnistlab.reports.html import png_data_uri, relative_url, render, svg_markup

LEADERBOARD_COLUMNS = [
    ("run", "run"),
    ("model", "model"),
    ("accuracy", "test accuracy"),
    ("macro_f1", "macro F1"),
    ("log_loss", "log loss"),
    ("epochs", "epochs"),
    ("overrides", "set over the recipe"),
    ("train_seconds", "training s"),
    ("parameters", "parameters"),
    ("date", "date"),
]


def check_page_path(out: str | Path) -> Path:
    """``out`` names the .html file to write, not a folder."""
    out = Path(out)
    if out.is_dir():
        raise ParameterError(f"{out}: is a folder; `out` names the .html file to write")
    return out


def run_page(
    run,
    test,
    evaluation,
    out: str | Path,
    reliability=None,
    explanations=None,
    side: list[dict] | None = None,
    described: dict | None = None,
) -> Path:
    """The report of one run (a loaded ``runs.Run``), its test data and its ``evaluation.Evaluation``: headline
    numbers, the data, the model, the learning curves and the whole evaluation, with the calibration
    (``reliability``: its Display) and conformal prediction sets ``metrics.json`` records, the maps of why the
    top losses were chosen (``explanations``: a Display, networks only), and a table of the run's evaluations on
    other data (``side``: their records, ``runs.side_evaluations``), in one self-contained page. ``described``:
    as for :func:`headline`."""
    recorded = run.metrics["evaluation"]
    figures = {
        "balance": svg_markup(viz.ClassBalanceDisplay.from_datasets(test)),
        "samples": png_data_uri(viz.SampleGridDisplay.from_dataset(test, n=25)),
        "confusion": {
            kind: svg_markup(viz.ConfusionDisplay.from_evaluation(evaluation, kind))
            for kind in viz.CONFUSION_KINDS
        },
        "confused": png_data_uri(viz.MostConfusedDisplay.from_evaluation(evaluation, test.images)),
        "curves": svg_markup(viz.LearningCurveDisplay.from_history(run.history, steps=run.steps))
        if run.history
        else None,
        "losses": None,
        "predictions": None,
        "reliability": None if reliability is None else svg_markup(reliability),
        "explanations": None if explanations is None else png_data_uri(explanations),
        "robustness": svg_markup(viz.RobustnessDisplay.from_result(run.metrics["robustness"]))
        if run.metrics.get("robustness")
        else None,
    }
    if evaluation.proba is not None:
        figures["losses"] = png_data_uri(viz.TopLossesDisplay.from_evaluation(evaluation, test.images))
        figures["predictions"] = png_data_uri(
            viz.PredictionGridDisplay.from_evaluation(evaluation, test.images)
        )
    return render(
        "run.html",
        check_page_path(out),
        h=headline(run, described),
        figures=figures,
        model=model_card(run),
        report=recorded["report"],
        calibration=recorded.get("calibration"),
        conformal=recorded.get("conformal"),
        robustness=run.metrics.get("robustness"),
        extras=_extras(run.path),
        side=[_side_row(record, out) for record in side or []],
    )


def _side_row(record: dict, out: str | Path) -> dict:
    """A side evaluation as the run report lists it: the data it scored and its numbers, linked to its folder."""
    data, evaluation = record["data"], record["evaluation"]
    return {
        "data": data.get("spec", "?"),
        "path": data.get("path") or "registered test split",
        "rows": data.get("rows", "?"),
        "sha256": str(data.get("sha256", ""))[:16],
        "preprocess": data.get("preprocess", "none"),
        "accuracy": evaluation["accuracy"],
        "macro_f1": evaluation["report"]["macro avg"]["f1-score"],
        "evaluated": record.get("evaluated", "-"),
        "link": relative_url(relpath(Path(record["folder"]) / SIDE_CARD, Path(out).parent)),
    }


def machine_line(machine: dict) -> str:
    """What a run trained on, in one line: CPU, cores and flags, and for a network the precision, layout and
    threads training actually used.

    Examples
    --------
    >>> machine_line({"cpu": "EPYC", "cores": 2, "cpu_flags": ["avx512_bf16"], "threads": 2, "precision": "bf16",
    ...               "channels_last": True})
    'EPYC, 2 cores (avx512_bf16); trained in bf16, channels-last, 2 threads'
    """
    if not machine:
        return "machine not recorded"
    text = f"{machine.get('cpu', '?')}, {machine.get('cores', '?')} cores"
    if machine.get("cpu_flags"):
        text += f" ({', '.join(machine['cpu_flags'])})"
    if machine.get("precision"):
        layout = "channels-last" if machine.get("channels_last") else "contiguous"
        text += f"; trained in {machine['precision']}, {layout}, {machine.get('threads', '?')} threads"
    return text


def headline(run, described: dict | None = None) -> dict:
    """The numbers and facts at the top of a run's report (and in its leaderboard row); ``described`` holds its
    ``epochs`` and ``overrides`` in words (``runs.epochs_text``, ``runs.overrides_text``)."""
    recorded = run.metrics["evaluation"]
    source = run.config.get("data_source") or {}
    machine = run.config.get("machine") or {}
    network = getattr(run.estimator, "network_", None)
    return {
        "run": str(run.path),
        "model": run.config["model"],
        "data": run.config["data"],
        "accuracy": recorded["accuracy"],
        "log_loss": recorded.get("log_loss"),
        "macro_f1": recorded["report"]["macro avg"]["f1-score"],
        "train_seconds": run.metrics.get("train_seconds", "-"),
        "parameters": f"{sum(p.numel() for p in network.parameters()):,}" if network is not None else "-",
        "n_test": int(recorded["report"]["macro avg"]["support"]),
        "date": run.config.get("saved", "-"),
        "machine": machine_line(machine),
        "versions": run.config.get("versions", {}),
        "source": source.get("test", {}).get("split", run.config["data"]),
        "sha256": source.get("test", {}).get("sha256"),
        "splits": "; ".join(f"{k}: {v}" for k, v in (run.metrics.get("splits") or {}).items() if v),
        "epochs": (described or {}).get("epochs", "-"),
        "overrides": (described or {}).get("overrides", "-"),
        "interrupted": (
            f"Training was interrupted after {run.metrics.get('epochs_completed', '?')} epochs (Ctrl-C or "
            "SIGTERM); the best weights so far were kept."
        )
        if run.metrics.get("interrupted")
        else None,
    }


def model_card(run) -> dict:
    """The architecture and the settings of a run's model."""
    network = getattr(run.estimator, "network_", None)
    if network is not None:
        return {"architecture": str(network), "settings": run.config.get("params", {})}
    return {"architecture": repr(run.estimator), "settings": run.estimator[-1].get_params(deep=False)}


def _extras(path: Path) -> dict:
    """Text results other workflows left in the run folder (graph comparison tables)."""
    found = {}
    for name, title in (
        (MODEL_CARD, "Model card"),
        ("graph_compare.md", "Similarity graphs and mistake detectors"),
    ):
        if (path / name).is_file():
            found[title] = read_bounded(path / name, "a results table", MAX_TEXT_BYTES).decode(
                "utf-8", "replace"
            )
    return found


def leaderboard_page(reported: list[tuple], out: str | Path) -> Path:
    """One page comparing runs: ``reported`` holds ``(run, its report page, described)`` (``described``: as for
    :func:`headline`). A sortable table per data set (best first), learning curves overlaid, per-class recall
    side by side; each run links to its report."""
    out = check_page_path(out)
    rows, by_data, histories, recalls = [], {}, {}, {}
    for run, page, described in reported:
        head = headline(run, described)
        parameters = int(head["parameters"].replace(",", "")) if head["parameters"] != "-" else 0
        row = {
            **head,
            "link": relative_url(relpath(page, out.parent)),
            "run": run.path.name,
            "parameters_n": parameters,
        }
        rows.append(row)
        by_data.setdefault(head["data"], []).append(row)
        histories.setdefault(head["data"], {})[run.path.name] = run.history
        report = run.metrics["evaluation"]["report"]
        recalls.setdefault(head["data"], {})[run.path.name] = {
            k: v["recall"] for k, v in report.items() if isinstance(v, dict) and "avg" not in k
        }
    curves = {
        data: svg_markup(viz.RunComparisonDisplay.curves(h)) if any(h.values()) else None
        for data, h in histories.items()
    }
    per_class = {data: svg_markup(viz.RunComparisonDisplay.per_class(r)) for data, r in recalls.items()}
    for group in by_data.values():
        group.sort(key=lambda row: -row["accuracy"])
    return render(
        "leaderboard.html",
        out,
        rows=rows,
        groups=by_data,
        columns=LEADERBOARD_COLUMNS,
        curves=curves,
        per_class=per_class,
    )


def sweep_page(
    out: str | Path,
    name: str,
    data: list[str],
    rows: list[dict],
    summary: list[dict],
    total: int,
    any_reference: bool,
) -> Path:
    """A sweep's ``leaderboard.html``: per data set (in ``data`` order) a chart and a sortable table of the
    configurations (``summary``), and the trials (``rows``) with links to their run folders."""
    groups: dict[str, list[dict]] = {d: [] for d in dict.fromkeys(data)}
    for row in summary:
        groups[row["data"]].append(row)
    trials: dict[str, list[dict]] = {d: [] for d in groups}
    for row in rows:
        folder = Path(row["folder"])
        trials[row["data"]].append(
            row | {"name": folder.name, "link": relative_url(f"trials/{folder.name}") + "/"}
        )
    figures = {
        d: svg_markup(viz.SweepDisplay.from_summary(g)) if any(r["seeds"] for r in g) else None
        for d, g in groups.items()
    }
    return render(
        "sweep.html",
        out,
        name=name,
        groups=groups,
        trials=trials,
        figures=figures,
        finished=sum(r["status"] == "ok" for r in rows),
        total=total,
        failed=sum(r["status"] == "failed" for r in rows),
        any_reference=any_reference,
        updated=datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
    )


def health_page(data: str, images: dict[str, int], checks: list[dict], out: str | Path) -> Path:
    """The data-health page: a table of every check's data-set score, then a section per check with its
    galleries (worst examples first) and its first findings. ``checks`` holds, per check: ``name``, ``title``,
    ``score``, ``flagged`` (images, or None), ``found`` (the counts in words), ``unit`` (what an image's score
    means), ``displays`` (``{file name: Display}``), ``rows`` (its findings) and ``shown`` (how many to list);
    optionally ``score_name`` (what the score is), ``verdict`` (False: the check could not judge, the page says
    "no verdict") and ``caveat`` (shown as a warning under the check's title)."""
    out = check_page_path(out)
    sections = []
    for check in checks:
        rows = [_short_row(row) for row in check["rows"][: check.get("shown", 20)]]
        figures = [
            {"uri": png_data_uri(display), "caption": f"also saved as {name}"}
            for name, display in check["displays"].items()
        ]
        sections.append({**check, "rows": rows, "more": len(check["rows"]) - len(rows), "figures": figures})
    described = ", ".join(f"{name} {n} images" for name, n in images.items())
    return render("health.html", out, data=data, images=described, checks=sections)


def _short_row(row: dict, most: int = 8) -> dict:
    """A finding as the page lists it: a group of many images (an underperforming cluster) shows its first
    ``most`` indices and how many there are; findings.csv keeps them all.

    Examples
    --------
    >>> _short_row({"splits": "train train test", "indices": "1 2 3", "kind": "k"}, most=2)["indices"]
    '1 2 ... (3 images)'
    """
    indices = row.get("indices", "").split()
    if len(indices) <= most:
        return row
    splits = list(dict.fromkeys(row.get("splits", "").split()))
    return {
        **row,
        "splits": " ".join(splits),
        "indices": " ".join(indices[:most]) + f" ... ({len(indices)} images)",
    }


MODEL_CARD = "model_card.md"
SIDE_CARD = "evaluation.md"  # a side evaluation's summary, in its folder RUN/evaluations/NAME


def model_card_text(config: dict, metrics: dict) -> str:
    r"""A run's model card in Markdown (after Mitchell et al., 2019): intended use, data and its content hashes,
    the training recipe, the test metrics with calibration and conformal coverage, robustness when measured, and
    the limits the numbers show. ``mnistlab evaluate`` writes it beside the run as ``model_card.md``.

    Every text the run recorded (class names, data set names and paths, settings) goes in through
    :func:`~mnistlab.fileio.markdown_text`: shown as written wherever the card is rendered, never as HTML, a link
    or an image.

    Examples
    --------
    >>> config = {"model": "softmax", "data": "toy", "classes": ["<img src=x>", "[a](javascript:b)"]}
    >>> print(model_card_text(config, {}).splitlines()[3])  # doctest: +ELLIPSIS
    Classifying 28x28 grayscale images into 2 classes (&lt;img src\=x&gt;, \[a\]\(javascript\:b\)), ...
    """
    md = markdown_text
    evaluation = metrics.get("evaluation") or {}
    source = config.get("data_source") or {}
    classes = ", ".join(md(name) for name in config.get("classes", []))
    lines = [
        f"# Model card: {md(config['model'])} on {md(config['data'])}",
        "",
        "## Intended use",
        f"Classifying 28x28 grayscale images into {len(config.get('classes', []))} classes ({classes}), drawn and "
        f"centred like those of {md(config['data'])}. Not for images unlike them (photographs of scenes, other "
        "alphabets or scripts, other resolutions without the same preprocessing), and not for decisions about "
        "people.",
        "",
        "## Data",
    ]
    for role in ("train", "test"):
        part = source.get(role) or {}
        lines.append(
            f"- {role}: {md(part.get('spec', config['data']))} ({md(part.get('rows', '?'))} images"
            + (f", content sha256 {md(part['sha256'])}" if part.get("sha256") else "")
            + ")"
        )
    for role, text in (metrics.get("splits") or {}).items():
        if text:
            lines.append(f"- {md(role)} split: {md(text)}")
    machine = config.get("machine") or {}
    lines += [
        "",
        "## Training",
        f"- model {md(config['model'])}, seed {md(config.get('seed') if config.get('seed') is not None else 'default')}, "
        f"trained in {md(metrics.get('train_seconds', '?'))} s on {md(machine_line(machine) or 'an unrecorded machine')}",
    ]
    if config.get("params"):
        shown = {k: v for k, v in config["params"].items() if k not in ("verbose", "device", "threads")}
        lines.append("- settings: " + ", ".join(f"{md(k)}={md(v)}" for k, v in shown.items()))
    lines += ["", "## Test metrics (the test split, measured once after training)"]
    report = evaluation.get("report", {})
    if evaluation:
        lines.append(
            f"- accuracy {evaluation['accuracy']:.4f}, macro F1 {report['macro avg']['f1-score']:.4f}"
        )
    if evaluation.get("log_loss") is not None:
        lines.append(f"- log loss {evaluation['log_loss']:.4f}")
    calibration = evaluation.get("calibration")
    if calibration:
        before = calibration.get("before")
        lines.append(
            f"- expected calibration error {calibration['ece']:.4f} (15 bins)"
            + (
                f"; temperature {calibration['temperature']:.3g} fitted on the validation split "
                f"(ECE before: {before['ece']:.4f})"
                if before
                else ""
            )
        )
    conformal = evaluation.get("conformal")
    if conformal:
        for key in ("0.1 split-nonempty", "0.1 split", "0.05 split", "0.1 class-conditional"):
            row = conformal["sets"].get(key)
            if row:
                alpha, method = key.split(" ", 1)
                lines.append(
                    f"- conformal sets, alpha {alpha} ({method}): coverage {row['coverage']:.4f} "
                    f"(target {1 - float(alpha):.2f}), mean size {row['mean_size']:.3f}"
                )
    lines += ["", "## Robustness"]
    robustness = metrics.get("robustness")
    if robustness:
        lines.append(
            f"- mean accuracy over {len(robustness['corruptions'])} corruptions {robustness['mean']:.4f} "
            f"(clean {robustness['clean']:.4f}); worst: "
            + ", ".join(f"{md(name)} {acc:.4f}" for name, acc in robustness["worst"])
        )
    else:
        lines.append("- not measured yet (`mnistlab robustness RUN`)")
    lines += ["", "## Known limits", *_weakest(evaluation)]
    if conformal:
        n_test = max(int(metrics.get("n_test") or 1), 1)
        short = [  # more than 2 standard errors of the test sample below the target
            key
            for key, row in conformal["sets"].items()
            if row["coverage"] < _target(key) - 2 * (_target(key) * (1 - _target(key)) / n_test) ** 0.5
        ]
        if short:
            lines.append(
                "- conformal coverage fell short of its target at "
                + ", ".join(md(key) for key in short)
                + ": the test images are "
                "not exchangeable with the validation images (e.g. other writers), so the guarantee does not "
                "carry over in full"
            )
    lines.append(
        "- numbers hold for data like the test split; the test split was not used to choose anything"
    )
    return "\n".join(lines) + "\n"


def _target(key: str) -> float:
    """The coverage a conformal row promises: its key is "ALPHA METHOD"."""
    return 1 - float(key.split()[0])


def side_evaluation_text(config: dict, record: dict) -> str:
    r"""A side evaluation in Markdown: the run, the data it scored (path, rows, content sha256, rule), the run's
    own test data (whose numbers stay in the run's ``metrics.json`` and model card), and the numbers on this data.
    ``mnistlab evaluate RUN --test OTHER`` writes it as ``evaluation.md`` in ``RUN/evaluations/NAME``.

    Examples
    --------
    >>> record = {"run": "runs/a", "data": {"spec": "b.npz", "path": "/d/b.npz", "rows": 4, "sha256": "ab"},
    ...           "evaluation": {"accuracy": 0.75, "report": {"macro avg": {"f1-score": 0.7}}}}
    >>> print(side_evaluation_text({"model": "mlp", "data": "mnist"}, record).splitlines()[0])
    # Side evaluation: mlp (run runs/a) on b\.npz
    """
    md = markdown_text
    data, evaluation = record["data"], record["evaluation"]
    own = (config.get("data_source") or {}).get("test") or {}
    lines = [
        f"# Side evaluation: {md(config['model'])} (run {md(record['run'])}) on {md(data.get('spec'))}",
        "",
        "## Data scored",
        f"- {md(data.get('path') or str(data.get('spec')) + ' (registered test split)')}: "
        f"{md(data.get('rows', '?'))} images, content sha256 {md(data.get('sha256', '?'))}"
        + (
            f", read with --preprocess {md(data['preprocess'])}"
            if data.get("preprocess", "none") != "none"
            else ""
        ),
        f"- not the run's own test data ({md(own.get('split') or own.get('spec') or config['data'])}"
        + (f", sha256 {md(own['sha256'])}" if own.get("sha256") else "")
        + "): the run's metrics.json, model card and report keep their numbers on that",
        "",
        "## Metrics on this data",
        f"- accuracy {evaluation['accuracy']:.4f}, macro F1 {evaluation['report']['macro avg']['f1-score']:.4f}",
    ]
    if evaluation.get("log_loss") is not None:
        lines.append(f"- log loss {evaluation['log_loss']:.4f}")
    if evaluation.get("calibration"):
        lines.append(f"- expected calibration error {evaluation['calibration']['ece']:.4f} (15 bins)")
    lines += _weakest(evaluation)
    if record.get("figures"):
        lines.append("- figures: " + ", ".join(md(name) for name in record["figures"]))
    return "\n".join(lines) + "\n"


def _weakest(evaluation: dict) -> list[str]:
    """The model card's known limits: the two classes of lowest recall and the three most confused pairs."""
    lines = []
    recalls = {
        k: v["recall"]
        for k, v in evaluation.get("report", {}).items()
        if isinstance(v, dict) and "recall" in v and "avg" not in k
    }
    if recalls:
        worst = sorted(recalls.items(), key=lambda item: item[1])[:2]
        lines.append(
            "- lowest recall: " + ", ".join(f"{markdown_text(name)} {value:.4f}" for name, value in worst)
        )
    confused = evaluation.get("most_confused") or []
    if confused:
        lines.append(
            "- most confused (actual -> predicted, count): "
            + ", ".join(f"{markdown_text(a)} -> {markdown_text(b)} {n}" for a, b, n in confused[:3])
        )
    return lines
