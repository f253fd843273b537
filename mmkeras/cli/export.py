"""`mmkeras export RUN_DIR OUT`: a SavedModel taking raw bytes and strings, or a TFLite model."""

import json
import os

HELP = "export a trained run: a SavedModel on raw inputs (default) or TFLite (--format tflite)"


def add_arguments(parser):
    parser.add_argument("run_dir", help="run directory written by `mmkeras train`")
    parser.add_argument("out", help="export directory to write (replaced whole if it exists)")
    choices = (
        ("--format", ("saved_model", "tflite"), "saved_model",
         "saved_model (default; serving_default takes raw bytes / strings) or tflite"),
        ("--signature", ("auto", "raw", "tensors"), "auto",
         "tflite: raw inputs (needs TFLite kernels for every preprocessing op), the model's "
         "preprocessed tensors, or auto (raw if it converts, else tensors; default)"),
        ("--quantize", ("none", "float16", "int8"), "none",
         "tflite: float16 weights or dynamic-range int8; size and metric change against the "
         "float model are reported"),
    )  # fmt: skip
    for flag, allowed, default, text in choices:
        parser.add_argument(flag, choices=allowed, default=default, help=text)
    parser.add_argument(
        "--data",
        help="tflite: labelled manifest to measure the metric change on (default: the run's "
        "validation, else test set)",
    )
    parser.add_argument(
        "--no-overwrite", action="store_true", help="fail if OUT exists instead of replacing it"
    )


def run(args):
    from mmkeras.cli import UsageError
    from mmkeras.cli.quiet import import_tensorflow

    if not os.path.isdir(args.run_dir):
        raise UsageError(f"{args.run_dir!r} is not a run directory")
    if args.no_overwrite and os.path.exists(args.out):
        raise UsageError(f"{args.out!r} exists (drop --no-overwrite to replace it)")
    if args.format == "saved_model" and (args.quantize != "none" or args.signature != "auto"):
        raise UsageError("--quantize and --signature apply to --format tflite only")
    import_tensorflow()
    from mmkeras.train import Run

    run = Run.load(args.run_dir)
    kind = run.config.model.model_task
    if kind is not None:
        if args.format != "saved_model":
            raise UsageError(f"a {kind} run exports as --format saved_model only")
        return _task_model(args, run, kind)
    if args.format == "saved_model":
        from mmkeras.export import saved_model

        path = saved_model(run.model, run.pipeline, args.out)
        print(f"wrote SavedModel {path}")
        print(f"inspect it with: saved_model_cli show --dir {args.out} --all")
        return 0
    return _tflite(args, run)


def _task_model(args, run, kind):
    from mmkeras.atomic_files import write_directory_atomically

    if kind == "retrieval":
        from mmkeras.export.dual_encoder import export_dual_encoder

        def build(tmp):
            export_dual_encoder(run.model, tmp)

        signatures = "encode_images(images) and encode_texts(token ids)"
    else:
        from mmkeras.export.captioner import export_captioner
        from mmkeras.train.task_evaluation import caption_vocabulary

        vocabulary = caption_vocabulary(run.pipeline, run.config.caption_input)

        def build(tmp):
            export_captioner(run.model, tmp, vocabulary)

        signatures = "serve(images) -> token_ids, captions (greedy decoding in the graph)"
    path = write_directory_atomically(build, args.out, overwrite=not args.no_overwrite)
    print(f"wrote {kind} SavedModel {path}: {signatures}")
    print(f"inspect it with: saved_model_cli show --dir {args.out} --all")
    return 0


def _tflite(args, run):
    from mmkeras.atomic_files import write_directory_atomically
    from mmkeras.export.tflite import compare_tflite, convert_tflite

    quantize = None if args.quantize == "none" else args.quantize
    flatbuffer, used, raw_ops = convert_tflite(
        run.model, run.pipeline, signature=args.signature, quantize=quantize
    )
    if raw_ops:
        print(
            "the raw-input signature cannot run in TFLite (unsupported ops: "
            f"{', '.join(raw_ops)}; tensorflow-text and image / WAV decoding have no TFLite "
            "kernels): converted the tensor signature, which takes preprocessed inputs"
        )
    variants = {"float32": flatbuffer if quantize is None else None}
    if quantize is not None:
        variants["float32"] = convert_tflite(run.model, run.pipeline, signature=used)[0]
        variants[quantize] = flatbuffer
    sizes = {name: len(fb) for name, fb in variants.items()}
    data = args.data or run.config.data.validation or run.config.data.test
    metrics = None
    if used == "tensors" and data:
        metrics = compare_tflite(run.model, run.pipeline, variants, data)
    from mmkeras.export import serving_heads

    heads = serving_heads(run.model, run.pipeline)
    report = {
        "signature": used,
        "quantize": quantize,
        "inputs": {
            n: {"shape": [1, *e["shape"]], "dtype": e["dtype"]}
            for n, e in run.pipeline.input_specs().items()
        }
        if used == "tensors"
        else {n: {"shape": [1], "dtype": "string"} for n in run.pipeline.input_names},
        "tasks": [h.describe() for h in heads],
        "sizes_bytes": sizes,
        "metrics": metrics,
        "metrics_data": data if metrics else None,
    }

    def build(tmp):
        os.makedirs(tmp)
        with open(os.path.join(tmp, "model.tflite"), "wb") as f:
            f.write(flatbuffer)
        with open(os.path.join(tmp, "tflite.json"), "w", encoding="utf-8") as f:
            json.dump(report, f, indent=2)

    path = write_directory_atomically(build, args.out, overwrite=not args.no_overwrite)
    print(f"wrote {os.path.join(path, 'model.tflite')} ({used} signature, one example per call)")
    print(_table(sizes, metrics))
    return 0


def _table(sizes, metrics):
    lines = [
        f"{'variant':<10} {'size (KiB)':>11} {'size ratio':>10}   metrics (vs the Keras model)"
    ]
    base = sizes["float32"]
    for name, size in sizes.items():
        cells = ""
        if metrics:
            cells = "; ".join(
                ", ".join(f"{task} {k} {v:.4f}" for k, v in values.items())
                for task, values in metrics[name].items()
            )
        lines.append(f"{name:<10} {size / 1024:>11.1f} {size / base:>10.2f}   {cells}")
    if metrics:
        keras_cells = "; ".join(
            ", ".join(f"{task} {k} {v:.4f}" for k, v in values.items() if k != "max_abs_diff")
            for task, values in metrics["keras"].items()
        )
        lines.append(f"{'keras':<10} {'':>11} {'':>10}   {keras_cells}")
    else:
        lines.append("(no labelled manifest: pass --data to measure the metric change)")
    return "\n".join(lines)
