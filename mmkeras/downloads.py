"""Downloads on a user's request: the offline switches, and a fast check that a host answers.

mmkeras downloads only what a user names (`weights="imagenet"`, a preset name, an `hf://` id),
into the libraries' own caches. Before a download starts, `check_reachable` makes sure the host
answers within a few seconds, so that an offline machine gets one clear message at once instead
of minutes of retries inside a download library.
"""

import os
import socket
import urllib.parse

OFFLINE_VARIABLES = ("MMKERAS_OFFLINE", "HF_HUB_OFFLINE")
CONNECT_TIMEOUT_S = 5.0


def offline_requested():
    """True when the environment asks for no network (`MMKERAS_OFFLINE=1` or `HF_HUB_OFFLINE=1`)."""
    return any(
        os.environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")
        for name in OFFLINE_VARIABLES
    )


def check_reachable(url, what, ways, timeout=CONNECT_TIMEOUT_S):
    """Raises a `ConnectionError` naming `ways` unless the host of `url` accepts a connection.

    Args:
        url: an `https://` (or `http://`) address; only its host and port are contacted.
        what: what is to be downloaded, for the message (e.g. "the ImageNet weights of resnet50").
        ways: the ways a user can supply it instead, one string each.
        timeout: seconds to wait for the connection.
    """
    parsed = urllib.parse.urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    if offline_requested():
        reason = "offline mode is set (" + ", ".join(
            f"{name}={os.environ[name]}" for name in OFFLINE_VARIABLES if name in os.environ
        ) + ")"
    else:
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
            return
        except OSError as error:
            reason = f"{parsed.hostname}:{port} cannot be reached ({error})"
    listed = "; ".join(f"({i}) {way}" for i, way in enumerate(ways, 1))
    raise ConnectionError(
        f"cannot download {what}: {reason}, and it is not in the local cache. Supply it in one "
        f"of these ways: {listed}."
    )


__all__ = ["check_reachable", "offline_requested"]
