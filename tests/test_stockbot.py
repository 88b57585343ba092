"""The bot's parts: command parsing and the Stooq client, against the local fake Stooq."""
from urllib.parse import parse_qs, urlsplit

import pytest

from stockbot.commands import CommandError, StockCommand, parse_command
from stockbot.stooq import QuoteError, fetch_quote
from stockbot.tasks import answer_command


@pytest.mark.parametrize("body", ["/stock=aapl.us", "/STOCK=aapl.us", "/Stock=AAPL.US", "  /stock= aapl.us "])
def test_stock_command_is_case_insensitive(body):
    assert parse_command(body) == StockCommand(code=body.split("=")[1].strip())


@pytest.mark.parametrize("body", ["/stock=", "/stock", "/stock=  "])
def test_empty_code_is_refused_with_a_reason(body):
    with pytest.raises(CommandError, match="needs a code"):
        parse_command(body)


def test_unknown_command_lists_the_commands():
    with pytest.raises(CommandError, match=r"Unknown command '/foo'.*/stock=<code>"):
        parse_command("/foo bar")


def test_a_quote_reads_the_close_and_upper_cases_the_symbol():
    assert fetch_quote("aapl.us").as_post() == "AAPL.US quote is $93.42 per share"


def test_the_code_is_one_url_encoded_parameter(stooq):
    with pytest.raises(QuoteError):
        fetch_quote("x&s=aapl.us#")
    query = parse_qs(urlsplit(stooq.requests[-1]).query, keep_blank_values=True)
    assert query["s"] == ["x&s=aapl.us#"]
    assert query["f"] == ["sd2t2ohlcv"] and query["e"] == ["csv"] and "h" in query


def test_api_key_is_sent_when_set(settings, stooq):
    settings.STOOQ_API_KEY = "k&y"
    fetch_quote("aapl.us")
    assert parse_qs(urlsplit(stooq.requests[-1]).query)["apikey"] == ["k&y"]


@pytest.mark.parametrize(
    "code, reason",
    [
        ("nope.us", "No quote found for 'nope.us'"),
        ("html.us", "did not send a quote"),
        ("limit.us", "did not send a quote"),
        ("empty.us", "empty answer"),
        ("short.us", "malformed"),
        ("oops.us", "HTTP 500"),
    ],
)
def test_every_bad_answer_is_a_readable_reason(code, reason):
    with pytest.raises(QuoteError, match=reason):
        fetch_quote(code)


def test_unreachable_stooq_is_a_readable_reason(settings):
    settings.STOOQ_URL = "http://127.0.0.1:9/q/l/"
    with pytest.raises(QuoteError, match="can't be reached"):
        fetch_quote("aapl.us")


def test_a_slow_stooq_times_out_within_five_seconds():
    with pytest.raises(QuoteError, match="took too long"):
        fetch_quote("slow.us")


def test_the_bot_answers_the_original_body_with_a_reason_on_error():
    assert answer_command("/stock=aapl.us") == ("AAPL.US quote is $93.42 per share", False, "")
    body, error, reason = answer_command("/stock=nope.us")
    assert (body, error) == ("/stock=nope.us", True) and "No quote" in reason
