"""What a run prints, and how a full disk during training reads."""

import contextlib


def say(verbose, message):
    if verbose:
        print(message, flush=True)


@contextlib.contextmanager
def disk_errors(run_dir):
    """Turns a full disk met anywhere in training (a log, a checkpoint) into one clear error."""
    from mmkeras.errors import DiskFullError, disk_full_error, is_disk_full

    try:
        yield
    except DiskFullError:
        raise
    except Exception as e:
        if not is_disk_full(e):
            raise
        raise disk_full_error(
            run_dir,
            doing="while training the run in",
            hint="its last checkpoint and backup are kept, and the same command resumes it",
        ) from None


def print_data_summary(config, pipe, report):
    """What training learned from the training manifest, once, as `mmkeras validate` shows it."""
    from mmkeras.data.data_summary import input_lines, target_lines

    lines = []
    if report is not None:
        lines.append(report.summary())
        if not report.ok:
            action = (
                "they are skipped (data.errors: skip)"
                if config.data.errors == "skip"
                else "training stops on them (data.errors: raise); `mmkeras validate` lists them"
            )
            lines.append(f"  {action}")
    lines += input_lines(pipe) + target_lines(pipe)
    print("data:\n" + "\n".join("  " + line for line in lines), flush=True)


def say_skipped(verbose, stream):
    """The rows training skipped, said once at the end of the run (not once per epoch)."""
    skips = stream.skips
    if skips is None or not skips.num_skipped:
        return
    say(verbose, f"  skipped in the last epoch (data.errors: skip): {skips.summary()}")
