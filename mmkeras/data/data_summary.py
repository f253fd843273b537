"""What a pipeline infers from its training data, as lines of text (for validate and train)."""


def input_lines(pipe):
    """One line per model input: name, modality, shape without the batch axis, dtype, vocabulary."""
    specs = pipe.input_specs()
    width = max(len(name) for name in specs)
    lines = []
    for name, spec in specs.items():
        shape = str(tuple(None if d is None else int(d) for d in spec["shape"]))
        line = f"{name:<{width}}  {spec['modality']:<7}  {shape:<14}  {spec['dtype']}"
        if spec["modality"] == "text":
            line += f"  vocabulary {pipe.vocab_size(name)} tokens"
        lines.append(line)
    return lines


def target_lines(pipe, counts=None):
    """Lines describing each target; with `counts` (`{split: {target: Counter(label: n)}}`) a
    table of usable rows per class and split."""
    counts = counts or {}
    splits = list(counts)
    lines = []
    for name in pipe.target_names:
        spec = pipe.specs[name]
        size = pipe.target_size(name)
        if spec.kind == "regression":
            lines.append(f"target {name!r}: regression, {size} value(s) per row")
            continue
        labels = pipe.labels if len(pipe.target_names) == 1 else pipe.labels[name]
        noun = "class" if spec.kind == "classification" else "label"
        plural = "classes" if noun == "class" else "labels"
        counted = [split for split in splits if name in counts[split]]
        if not counted:
            lines.append(
                f"target {name!r}: {spec.kind}, {size} {plural}: {', '.join(map(str, labels))}"
            )
            continue
        lines.append(f"target {name!r}: {spec.kind}, {size} {plural} (usable rows per {noun}):")
        table = [[noun, *counted]]
        for label in map(str, labels):
            table.append([label, *(str(counts[split][name][label]) for split in counted)])
        widths = [max(len(row[i]) for row in table) for i in range(len(table[0]))]
        for row in table:
            cells = [row[0].ljust(widths[0])]
            cells += [cell.rjust(w) for cell, w in zip(row[1:], widths[1:], strict=True)]
            lines.append("  " + "  ".join(cells))
    return lines
