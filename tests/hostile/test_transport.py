"""The admin key only travels encrypted, to the host it was meant for: plain http to a host off the
machine is refused before any connection, a URL's credentials are never printed, and redirects and
TLS failures are final on the first attempt and say what happened."""

from __future__ import annotations

import shutil
import socket
import ssl
import subprocess
import threading

import pytest

from pipelines import cli
from pipelines.api.client import check_base_url
from pipelines.transport import is_loopback
from tests.faults.helpers import run_cli, sync_args
from tests.hostile.helpers import LAST, assert_refused, hostile_env
from tests.scripted_server import Reply, ScriptedServer

pytestmark = pytest.mark.hostile

KEY = "sk-ant-admin01-HOSTILE-TRANSPORT-CANARY"
NOT_LOOPBACK = ["http://10.255.255.1", "http://api.example.com", "http://192.168.0.10:8080/v1", "http://[2001:db8::1]"]


def record_connection_attempts(monkeypatch) -> list:
    """Every attempt to resolve a name or open a connection, each refused; the list stays empty when none is made."""
    attempts = []

    def no_connection(*args, **kwargs):
        attempts.append(args)
        raise AssertionError("a connection was attempted")

    monkeypatch.setattr(socket, "create_connection", no_connection)
    monkeypatch.setattr(socket.socket, "connect", no_connection)
    monkeypatch.setattr(socket, "getaddrinfo", no_connection)
    return attempts


@pytest.mark.parametrize("base_url", NOT_LOOPBACK)
def test_plain_http_off_the_machine_is_refused_before_any_connection(base_url, tmp_path, monkeypatch, in_process_cli):
    attempts = record_connection_attempts(monkeypatch)
    for name, value in hostile_env(None, tmp_path / "w.duckdb", key=KEY, ANTHROPIC_BASE_URL=base_url).items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert cli.main(list(sync_args(LAST, LAST))) == 1
    assert attempts == []
    assert list(tmp_path.iterdir()) == []  # not even the warehouse folder


@pytest.mark.parametrize("command", [("alerts", "test"), sync_args(LAST, LAST)])
@pytest.mark.parametrize("webhook", ["http://10.255.255.1/services/T0/B0/PLANTED", "http://hooks.example.com/PLANTED?x=1"])
def test_a_plain_http_alert_webhook_off_the_machine_is_refused_before_any_connection_and_never_shown(
        command, webhook, tmp_path, monkeypatch, capsys, in_process_cli):
    attempts = record_connection_attempts(monkeypatch)
    env = hostile_env(None, tmp_path / "w.duckdb", key=KEY, ANTHROPIC_BASE_URL="http://127.0.0.1:9",
                      USAGE_PIPELINE_ALERT_WEBHOOK_URL=webhook)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    assert cli.main(list(command)) == 1
    out, err = capsys.readouterr()
    assert attempts == []
    assert list(tmp_path.iterdir()) == []  # before any work: not even the warehouse folder
    assert err.splitlines()[-1].startswith("error: USAGE_PIPELINE_ALERT_WEBHOOK_URL=<redacted> is plain http to "), err
    assert "USAGE_PIPELINE_ALLOW_INSECURE_HTTP" in err
    assert "PLANTED" not in out + err and "/services" not in out + err


def test_the_refusal_is_one_line_and_the_opt_in_is_explicit(tmp_path):
    env = hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL="http://10.255.255.1")
    result = run_cli(*sync_args(LAST, LAST), env=env)
    assert_refused(result, "plain http to 10.255.255.1", "USAGE_PIPELINE_ALLOW_INSECURE_HTTP")
    with pytest.raises(ValueError, match="plain http"):
        check_base_url("http://10.255.255.1")
    check_base_url("http://10.255.255.1", allow_insecure_http=True)  # the operator's explicit choice
    for host in ("127.0.0.1", "127.9.8.7", "::1", "localhost", "::ffff:127.0.0.1"):
        assert is_loopback(host), host
    for host in ("10.255.255.1", "128.0.0.1", "localhost.example.com", "::2"):
        assert not is_loopback(host), host


@pytest.mark.parametrize("base_url", ["https://bob:hunter2@api.example.com", "http://bob:hunter2@127.0.0.1:9",
                                      "https://:hunter2@api.example.com/v1"])
def test_credentials_in_the_base_url_are_refused_and_never_printed(base_url, tmp_path):
    result = run_cli(*sync_args(LAST, LAST), env=hostile_env(None, tmp_path / "w.duckdb", ANTHROPIC_BASE_URL=base_url))
    assert_refused(result, "credentials")
    assert "hunter2" not in result.stdout + result.stderr and "bob" not in result.stdout + result.stderr


def test_a_redirect_is_not_followed_nor_retried_and_names_its_target(tmp_path):
    target = "https://collector.example.net/steal?from=usage-pipeline"
    with ScriptedServer() as server:
        server.reply(Reply(status=302, headers={"location": target}))
        result = run_cli(*sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report"),
                         env=hostile_env(None, tmp_path / "w.duckdb", key=KEY, ANTHROPIC_BASE_URL=server.url))
    assert_refused(result, "redirect", "collector.example.net/steal", "ANTHROPIC_BASE_URL")
    assert len(server.requests) == 1


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory):
    """A certificate no client trusts, and its key (made with the openssl command)."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    folder = tmp_path_factory.mktemp("tls")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", str(folder / "key.pem"), "-out", str(folder / "cert.pem"), "-days", "1",
                    "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
    return folder / "cert.pem", folder / "key.pem"


def test_an_untrusted_certificate_is_not_retried_and_says_so(self_signed, tmp_path):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    listener = socket.create_server(("127.0.0.1", 0))
    connections = []

    def serve() -> None:
        while True:
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connections.append(connection)
            try:
                context.wrap_socket(connection, server_side=True)  # the client gives up in the handshake
            except (ssl.SSLError, OSError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        base_url = f"https://127.0.0.1:{listener.getsockname()[1]}"
        result = run_cli(*sync_args(LAST, LAST, "--skip-entities", "--reports", "cost_report"),
                         env=hostile_env(None, tmp_path / "w.duckdb", key=KEY, ANTHROPIC_BASE_URL=base_url))
    finally:
        listener.close()
    assert_refused(result, "TLS", "certificate", "not retried")
    assert len(connections) == 1
