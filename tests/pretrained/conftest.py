"""Tests of pretrained encoders never download."""

import pytest


@pytest.fixture(autouse=True)
def _no_network(monkeypatch):
    """Tests of pretrained encoders never download: any connection attempt fails the test."""
    import socket

    def refuse(*args, **kwargs):
        raise AssertionError(f"a test tried to open a network connection: {args[:1]}")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
