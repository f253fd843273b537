"""Files downloaded at a user's request, into the Keras cache, failing fast when offline.

mmkeras downloads only when asked (`weights="imagenet"`), and only into the libraries' own
caches. `MMKERAS_OFFLINE=1` (or `HF_HUB_OFFLINE=1`) forbids downloads; otherwise, before a
transfer starts, the caller checks within `CONNECT_TIMEOUT` seconds that the host (or the
configured proxy) answers, so an offline machine gets a clear error at once instead of a long
network timeout. A transfer goes to a temporary name beside the final file and is renamed
only once its hash matches, so an interrupted or corrupt download never sits in the cache.
Imports Keras only inside `download_file`.
"""

import hashlib
import os
import socket
import tempfile
import threading
import urllib.parse
import urllib.request

from mmkeras.atomic_files import atomic_path
from mmkeras.errors import DownloadError, is_disk_full

# Environment variables that forbid any download; a set one makes mmkeras use cached files only.
OFFLINE_VARIABLES = ("MMKERAS_OFFLINE", "HF_HUB_OFFLINE")
# Seconds to wait for the host (or proxy) to accept a connection, name lookup included.
CONNECT_TIMEOUT = 5.0

_TRUE = ("1", "true", "yes", "on")


def offline_variables():
    """The `OFFLINE_VARIABLES` set to a true value (`1`, `true`, `yes`, `on`), as
    `["NAME=value", ...]`; empty when downloads are allowed."""
    return [
        f"{name}={os.environ[name]}"
        for name in OFFLINE_VARIABLES
        if os.environ.get(name, "").strip().lower() in _TRUE
    ]


def keras_cache_folder(subdir="models"):
    """The folder where `keras.utils.get_file(..., cache_subdir=subdir)` keeps its files.

    `$KERAS_HOME/<subdir>` when `KERAS_HOME` is set (read now, not when Keras was imported),
    otherwise `~/.keras/<subdir>`; `/tmp/.keras/<subdir>` when that home is not writable, as
    Keras does.
    """
    home = os.environ.get("KERAS_HOME")
    if not home:
        user = os.path.expanduser("~")
        home = os.path.join(user if os.access(user, os.W_OK) else "/tmp", ".keras")
    home = os.path.expanduser(home)
    try:
        os.makedirs(home, exist_ok=True)
    except OSError:
        pass
    if not os.access(home, os.W_OK):
        base = "/tmp" if os.path.isdir("/tmp") else tempfile.gettempdir()
        home = os.path.join(base, ".keras")
    return os.path.join(home, subdir)


def md5_of(path, chunk_size=1 << 20):
    """The md5 hex digest of the file at `path`."""
    digest = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(chunk_size), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _endpoint(url):
    """`(host, port)` a download of `url` connects to: the proxy's when one applies."""
    parts = urllib.parse.urlsplit(url)
    default_port = 443 if parts.scheme == "https" else 80
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and not urllib.request.proxy_bypass(parts.hostname):
        proxy_parts = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        return proxy_parts.hostname, proxy_parts.port or default_port
    return parts.hostname, parts.port or default_port


def unreachable_reason(url, timeout=None):
    """Why the host of `url` cannot be reached now, or None when it accepts a connection.

    One TCP connection is tried, to the proxy when one applies to `url`. The wait is bounded by
    `timeout` seconds (default `CONNECT_TIMEOUT`) even when the name lookup hangs, since the
    attempt runs in a daemon thread. It does not look at `offline_variables()`.

    Returns:
        None, or a str such as `"storage.googleapis.com:443 did not answer within 5 s"`.
    """
    timeout = CONNECT_TIMEOUT if timeout is None else timeout
    host, port = _endpoint(url)
    outcome = {}

    def connect():
        try:
            socket.create_connection((host, port), timeout=timeout).close()
            outcome["error"] = None
        except OSError as error:
            outcome["error"] = error

    thread = threading.Thread(target=connect, name="mmkeras-connection-check", daemon=True)
    thread.start()
    thread.join(timeout)
    if "error" not in outcome:
        return f"{host}:{port} did not answer within {timeout:g} s"
    if outcome["error"] is not None:
        return f"cannot connect to {host}:{port} ({outcome['error']})"
    return None


def check_reachable(url, what, ways, timeout=None):
    """Raises `DownloadError` naming `ways` when downloads are forbidden or the host of `url`
    does not answer within `timeout` seconds (default `CONNECT_TIMEOUT`).

    Args:
        url: an `https://` (or `http://`) address; only its host (or proxy) is contacted.
        what: what would be downloaded, for the message (e.g. "the checkpoint 'hf://x/y'").
        ways: the ways a user can supply it instead, one string each.
        timeout: seconds to wait for the connection.
    """
    forbidden = offline_variables()
    if forbidden:
        reason = f"offline mode is set ({', '.join(forbidden)})"
    else:
        reason = unreachable_reason(url, timeout)
        if reason is None:
            return
    listed = "; ".join(f"({i}) {way}" for i, way in enumerate(ways, 1))
    raise DownloadError(
        f"cannot download {what}: {reason}, and it is not in the local cache. Supply it in one "
        f"of these ways: {listed}."
    )


def download_file(url, path, md5=None, validate=None):
    """Downloads `url` to `path` with `keras.utils.get_file`, atomically.

    The transfer goes to a temporary name in the folder of `path` (`force_download`, so a
    leftover of a killed process is overwritten) and is renamed to `path` only when it is
    complete, matches `md5` and passes `validate`; otherwise the temporary file is removed.
    (`get_file` alone writes straight to its final name and keeps a file whose hash does not
    match.)

    Args:
        url: str, the file's address.
        path: str, the final location (normally in `keras_cache_folder()`).
        md5: str or None, the published md5 hash of the file.
        validate: optional function of the downloaded file's path returning None when the file
            is usable, or a str saying what is wrong with it (for files without a hash).

    Returns:
        `path`.

    Raises:
        DownloadError: the transfer failed, or the file received is not the one published.
        DiskFullError: the disk filled up during the transfer.
    """
    import keras

    folder = os.path.dirname(os.path.abspath(path))
    nothing_kept = f"Nothing was kept in {folder}; run again to retry."
    with atomic_path(path) as tmp:
        try:
            keras.utils.get_file(
                fname=os.path.basename(tmp),
                origin=url,
                cache_subdir=folder,
                force_download=True,
            )
        except Exception as error:
            if is_disk_full(error):
                raise  # `atomic_path` reports it as a DiskFullError
            raise DownloadError(f"download of {url} failed: {error}. {nothing_kept}") from error
        problem = None
        if md5 is not None:
            received = md5_of(tmp)
            if received != md5:
                problem = (
                    f"its md5 hash {received} does not match the published {md5}, so the file "
                    "received is incomplete or corrupted"
                )
        if problem is None and validate is not None:
            problem = validate(tmp)
        if problem is not None:
            raise DownloadError(f"download of {url} failed: {problem}. {nothing_kept}")
    return path
