"""The two pagers against a real HTTP server: chaining, stopping, loop guards, decode failures."""

from __future__ import annotations

import json
import string
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.api import (
    AdminApiClient,
    JsonListPage,
    JsonReportPage,
    MalformedResponseError,
    PaginationError,
    RetryPolicy,
    decode_list_envelope,
    decode_report_envelope,
    iter_list_pages,
    iter_report_pages,
)
from tests.scripted_server import Reply, ScriptedServer, json_reply

REPORT = "/v1/organizations/usage_report/messages"
USERS = "/v1/organizations/users"
REPORT_PARAMS = [("starting_at", "2026-08-01T00:00:00Z"), ("group_by[]", "model"), ("group_by[]", "workspace_id")]
FAST_RETRY = RetryPolicy(backoff_base=0.001, backoff_max=0.01, jitter=0)
# Opaque cursors, including characters that need query-string escaping.
CURSORS = st.text(alphabet=string.ascii_letters + string.digits + "-_=+/&?% ", min_size=1, max_size=16)


def report_page(data: list, next_page: str | None, has_more: bool | None = None) -> Reply:
    has_more = next_page is not None if has_more is None else has_more
    return json_reply({"data": data, "has_more": has_more, "next_page": next_page}, request_id=f"req_{next_page}")


def list_page(ids: list[str], has_more: bool) -> Reply:
    return json_reply(
        {
            "data": [{"id": item} for item in ids],
            "has_more": has_more,
            "first_id": ids[0] if ids else None,
            "last_id": ids[-1] if ids else None,
        }
    )


@pytest.fixture(scope="module")
def server():
    with ScriptedServer() as running:
        yield running


@pytest.fixture(scope="module")
def client(server):
    with AdminApiClient("sk-ant-admin01-test", server.url, retry=FAST_RETRY) as api:
        yield api


@pytest.fixture(autouse=True)
def fresh_script(server):
    server.reset()


# --- report pages (page / next_page) ------------------------------------------------------------------


def test_report_pages_chain_and_keep_every_other_param(server, client):
    server.reply(report_page([1], "p2"), report_page([], "p3"), report_page([2, 3], None))
    params = list(REPORT_PARAMS)
    pages = list(iter_report_pages(client, REPORT, params, decode_report_envelope))
    assert [page.data for page in pages] == [[1], [], [2, 3]]
    assert [request.param("page") for request in server.requests] == [None, "p2", "p3"]
    for request in server.requests:
        assert [pair for pair in request.query if pair[0] != "page"] == REPORT_PARAMS
    assert params == REPORT_PARAMS


def test_report_pages_stop_on_has_more_false_even_with_a_token(server, client):
    server.reply(report_page([1], "p2", has_more=False), report_page([2], None))
    pages = list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope))
    assert len(pages) == 1
    assert len(server.requests) == 1


def test_report_page_without_next_page_key_ends_when_has_more_is_false(server, client):
    server.reply(json_reply({"data": [], "has_more": False}))
    assert list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope)) == [
        JsonReportPage(data=[], has_more=False, next_page=None)
    ]


@pytest.mark.parametrize("missing", [None, ""])
def test_has_more_without_next_page_raises(server, client, missing):
    server.reply(report_page([1], missing, has_more=True))
    with pytest.raises(PaginationError, match="has_more is true but next_page") as caught:
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope))
    assert (caught.value.endpoint, caught.value.request_id) == (REPORT, f"req_{missing}")


def test_repeated_cursor_raises(server, client):
    server.reply(report_page([1], "a"), report_page([2], "b"), report_page([3], "a"))
    with pytest.raises(PaginationError, match="cursor repeats"):
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope))
    assert len(server.requests) == 3


def test_page_cap(server, client):
    server.reply(*(report_page([n], f"p{n + 1}") for n in range(5)))
    seen = []
    with pytest.raises(PaginationError, match="more than 3 pages"):
        for page in iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope, max_pages=3):
            seen.append(page.data)
    assert seen == [[0], [1], [2]]
    assert len(server.requests) == 3


def test_params_are_copied_when_the_pager_is_created(server, client):
    server.reply(report_page([1], "p2"), report_page([2], None))
    params = list(REPORT_PARAMS)
    pages = iter_report_pages(client, REPORT, params, decode_report_envelope)
    params.append(("models[]", "added-later"))
    list(pages)
    assert all(request.param("models[]") is None for request in server.requests)


def test_pager_owned_params_are_refused(client):
    with pytest.raises(ValueError, match="page"):
        iter_report_pages(client, REPORT, [*REPORT_PARAMS, ("page", "x")], decode_report_envelope)
    with pytest.raises(ValueError, match="after_id"):
        iter_list_pages(client, USERS, [("after_id", "user_1")], decode_list_envelope)


# --- list pages (after_id / last_id) ------------------------------------------------------------------


def test_list_pages_chain_after_id_and_send_limit(server, client):
    server.reply(list_page(["u1", "u2"], True), list_page(["u3"], True), list_page([], False))
    params = [("email", "a@example.com")]
    pages = list(iter_list_pages(client, USERS, params, decode_list_envelope))
    assert pages[-1] == JsonListPage(data=[], has_more=False, last_id=None, first_id=None)
    assert [request.param("after_id") for request in server.requests] == [None, "u2", "u3"]
    assert {request.param("limit") for request in server.requests} == {"1000"}
    assert {request.param("email") for request in server.requests} == {"a@example.com"}
    assert params == [("email", "a@example.com")]


def test_list_page_with_has_more_and_null_last_id_raises(server, client):
    server.reply(list_page([], True))
    with pytest.raises(PaginationError, match="last_id is None"):
        list(iter_list_pages(client, USERS, [], decode_list_envelope, limit=20))
    assert server.requests[0].param("limit") == "20"


def test_repeated_last_id_raises(server, client):
    server.reply(list_page(["u1"], True), list_page(["u1"], True))
    with pytest.raises(PaginationError, match="cursor repeats"):
        list(iter_list_pages(client, USERS, [], decode_list_envelope))


def test_list_limit_is_checked(client):
    with pytest.raises(ValueError, match="limit"):
        iter_list_pages(client, USERS, [], decode_list_envelope, limit=1001)


# --- decoding failures ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        b"{not json",
        b"[]",
        b'{"has_more": false}',
        b'{"data": {}, "has_more": false}',
        b'{"data": [], "has_more": "false"}',
        b'{"data": [], "has_more": true, "next_page": 7}',
    ],
)
def test_malformed_envelopes_raise_with_request_id(server, client, body):
    server.reply(Reply(200, body, {"content-type": "application/json", "request-id": "req_bad"}))
    with pytest.raises(MalformedResponseError) as caught:
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope))
    assert (caught.value.endpoint, caught.value.request_id, caught.value.status) == (REPORT, "req_bad", 200)
    assert isinstance(caught.value.__cause__, ValueError)


def test_custom_decoder_errors_and_non_bool_has_more_are_wrapped(server, client):
    @dataclass
    class LoosePage:
        has_more: object
        next_page: str | None = None

    def exploding(body: bytes) -> LoosePage:
        raise KeyError("results")

    server.reply(report_page([], None), report_page([], None))
    with pytest.raises(MalformedResponseError, match="KeyError") as caught:
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, exploding))
    assert isinstance(caught.value.__cause__, KeyError)
    with pytest.raises(MalformedResponseError, match="has_more is 1"):
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, lambda body: LoosePage(has_more=1)))


def test_html_200_fails_the_pager(server, client):
    server.reply(Reply(200, "<html>maintenance</html>", {"content-type": "text/html", "request-id": "req_html"}))
    with pytest.raises(MalformedResponseError, match="req_html"):
        list(iter_list_pages(client, USERS, [], decode_list_envelope))


# --- properties ------------------------------------------------------------------------------------------

# One module-scoped server and client for all examples; each example resets the script first.
PROPERTY_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@PROPERTY_SETTINGS
@given(pages=st.lists(st.lists(st.integers(), max_size=3), min_size=1, max_size=8), cursors=st.data())
def test_any_report_page_sequence_is_yielded_once_in_order(server, client, pages, cursors):
    server.reset()
    tokens = cursors.draw(st.lists(CURSORS, min_size=len(pages) - 1, max_size=len(pages) - 1, unique=True))
    server.reply(*(report_page(data, token) for data, token in zip(pages, [*tokens, None], strict=True)))
    yielded = [page.data for page in iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope)]
    assert yielded == pages
    assert [request.param("page") for request in server.requests] == [None, *tokens]


@PROPERTY_SETTINGS
@given(unique=st.lists(CURSORS, min_size=1, max_size=6, unique=True), pick=st.data())
def test_any_cursor_sequence_with_a_repeat_raises(server, client, unique, pick):
    server.reset()
    repeated = pick.draw(st.sampled_from(unique))
    tokens = [*unique, repeated]
    server.reply(*(report_page([n], token) for n, token in enumerate(tokens)))
    with pytest.raises(PaginationError, match="cursor repeats"):
        list(iter_report_pages(client, REPORT, REPORT_PARAMS, decode_report_envelope))
    assert len(server.requests) == len(tokens)


@PROPERTY_SETTINGS
@given(full_page_sizes=st.lists(st.integers(1, 3), max_size=6), last_page_size=st.integers(0, 3))
def test_any_list_page_sequence_chains_after_id(server, client, full_page_sizes, last_page_size):
    server.reset()
    ids = iter(f"user_{n}" for n in range(100))
    # Ids never repeat, and only the last page may be empty (as the API pages).
    pages = [[next(ids) for _ in range(size)] for size in [*full_page_sizes, last_page_size]]
    server.reply(*(list_page(page, has_more=n < len(pages) - 1) for n, page in enumerate(pages)))
    yielded = [[item["id"] for item in page.data] for page in iter_list_pages(client, USERS, [], decode_list_envelope)]
    assert yielded == pages
    assert [request.param("after_id") for request in server.requests] == [None] + [page[-1] for page in pages[:-1]]


def test_decoders_accept_the_documented_envelopes():
    report = json.dumps({"data": [{"results": []}], "has_more": True, "next_page": "page_MjAy"}).encode()
    assert decode_report_envelope(report) == JsonReportPage([{"results": []}], True, "page_MjAy")
    users = json.dumps({"data": [], "has_more": False, "first_id": None, "last_id": None}).encode()
    assert decode_list_envelope(users) == JsonListPage([], False, None, None)
