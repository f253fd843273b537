"""The comparison `mmkeras demo` prints: a table of models, the best of each kind, a verdict.

A row is a dict with `name`, `kind` (`"single"` or `"fused"`), `modalities`, `fusion`,
`params`, `best_epoch`, `val_accuracy` and `test_accuracy` (fractions). Models are picked on
validation accuracy; the test accuracy is only reported.
"""

HEADER = ("model", "modalities", "fusion", "params", "best epoch", "val acc", "test acc")
_LEFT = (True, True, True, False, False, False, False)


def table(rows):
    """The rows as a plain-text table, one line per model, columns aligned."""
    lines = [
        (
            r["name"],
            " + ".join(r["modalities"]),
            r["fusion"] or "-",
            f"{r['params']:,}",
            str(r["best_epoch"]),
            f"{100 * r['val_accuracy']:.1f}%",
            f"{100 * r['test_accuracy']:.1f}%",
        )
        for r in rows
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(HEADER)]

    def fmt(cells):
        return "  ".join(
            c.ljust(w) if is_left else c.rjust(w)
            for c, w, is_left in zip(cells, widths, _LEFT, strict=True)
        ).rstrip()

    return "\n".join([fmt(HEADER), fmt(["-" * w for w in widths]), *map(fmt, lines)])


def best(rows, kind, fusion=None):
    """The row of `kind` with the best validation accuracy (ties: the earlier one), or None."""
    candidates = [
        r for r in rows if r["kind"] == kind and (fusion is None or r["fusion"] == fusion)
    ]
    if not candidates:
        return None
    return max(candidates, key=lambda r: r["val_accuracy"])


def verdict(best_fused, best_single):
    """`(margin in points of test accuracy, one sentence)`: did the best fused model win?"""
    margin = 100 * (best_fused["test_accuracy"] - best_single["test_accuracy"])
    fused = f"{best_fused['name']} fusion ({100 * best_fused['test_accuracy']:.1f}%)"
    single = f"{best_single['name']} only ({100 * best_single['test_accuracy']:.1f}%)"
    if margin > 0:
        text = f"The best fused model, {fused}, beats the best single modality, {single}, "
        text += f"by {margin:.1f} points of test accuracy."
    elif margin == 0:
        text = f"The best fused model, {fused}, only ties the best single modality, {single}."
    else:
        text = f"The best fused model, {fused}, does NOT beat the best single modality, {single}: "
        text += f"it is {-margin:.1f} points below on test accuracy."
    return margin, text + " (Both picked on validation accuracy.)"
