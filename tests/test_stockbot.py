"""The bot's parts: the command registry, each command, and the Stooq client, against the
local fake Stooq."""
from datetime import datetime, timezone
from urllib.parse import parse_qs, urlsplit

import pytest

from stockbot import commands
from stockbot.commands import COMMANDS, CommandError, Reply, parse_command, run_command
from stockbot.commands.time import time_in
from stockbot.stooq import QuoteError, fetch_quote
from stockbot.tasks import answer_command


def test_every_module_of_the_package_is_a_registered_command():
    assert list(COMMANDS) == ["help", "stock", "time"]
    for name, command in COMMANDS.items():
        assert command.usage.startswith("/" + name) and command.help and callable(command.handler)


@pytest.mark.parametrize("body", ["/stock=aapl.us", "/STOCK=aapl.us", "/Stock=AAPL.US", "  /stock= aapl.us ", "/stock aapl.us"])
def test_stock_command_is_case_insensitive(body):
    command, argument = parse_command(body)
    assert command is COMMANDS["stock"] and argument.lower() == "aapl.us"
    assert run_command(body) == Reply("AAPL.US quote is $93.42 per share")


@pytest.mark.parametrize("body", ["/stock=", "/stock", "/stock=  "])
def test_empty_code_is_refused_with_a_reason(body):
    with pytest.raises(CommandError, match="needs a code"):
        run_command(body)


@pytest.mark.parametrize("body, shown", [("/foo bar", "/foo"), ("/", "/"), ("/FOO=1", "/foo"), ("/" + "x" * 99, "/" + "x" * 30)])
def test_unknown_command_lists_the_commands(body, shown):
    with pytest.raises(CommandError) as raised:
        parse_command(body)
    assert str(raised.value) == f"Unknown command {shown!r}. Commands: /help, /stock=<code>, /time <zone>"


def test_an_argument_is_bounded():
    with pytest.raises(CommandError, match="at most 200 characters"):
        parse_command("/time " + "x" * 201)


def test_help_lists_every_command_to_the_requester_alone():
    body, error, reason = answer_command("/help")
    assert (body, error) == ("/help", True)
    for command in COMMANDS.values():
        assert f"{command.usage}: {command.help}" in reason.splitlines()
    assert answer_command("/HELP me") == ("/HELP me", True, reason)


WINTER = datetime(2026, 12, 4, 18, 30, tzinfo=timezone.utc)
SUMMER = datetime(2026, 7, 4, 18, 30, tzinfo=timezone.utc)


@pytest.mark.parametrize(
    "argument, now, text",
    [
        ("Europe/Paris", WINTER, "Time in Europe/Paris: 19:30 on Friday 4 December 2026 (CET, UTC+01:00)"),
        ("europe/paris", SUMMER, "Time in Europe/Paris: 20:30 on Saturday 4 July 2026 (CEST, UTC+02:00)"),
        ("America/New_York", WINTER, "Time in America/New_York: 13:30 on Friday 4 December 2026 (EST, UTC-05:00)"),
        ("asia/kolkata", WINTER, "Time in Asia/Kolkata: 00:00 on Saturday 5 December 2026 (IST, UTC+05:30)"),
        ("", WINTER, "Time in UTC: 18:30 on Friday 4 December 2026 (UTC, UTC+00:00)"),
    ],
)
def test_time_tells_the_time_in_a_zone(argument, now, text):
    assert time_in(argument, now=now) == Reply(text)


@pytest.mark.parametrize("argument", ["Mars/Olympus", "../../etc/passwd", "Europe/" + "x" * 80, "\x00"])
def test_time_refuses_what_is_not_a_zone(argument):
    with pytest.raises(CommandError, match="is not a time zone"):
        time_in(argument)


def test_time_is_posted_in_the_room():
    text, error, reason = answer_command("/time=Asia/Tokyo")
    assert (error, reason) == (False, "") and text.startswith("Time in Asia/Tokyo: ") and "(JST, UTC+09:00)" in text


def test_a_new_module_is_a_new_command(tmp_path, monkeypatch):
    """The registry is the package: a module with a COMMAND is found without other changes."""
    module = tmp_path / "echo.py"
    module.write_text(
        "from stockbot.commands import Command, Reply\n"
        "COMMAND = Command(name='echo', usage='/echo <text>', help='says it back', handler=lambda a: Reply(a))\n"
    )
    monkeypatch.setattr(commands, "__path__", [*commands.__path__, str(tmp_path)])
    monkeypatch.setattr(commands, "COMMANDS", commands._discover())
    assert answer_command("/echo hi there") == ("hi there", False, "")
    assert "/echo <text>: says it back" in answer_command("/help")[2]


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
    body, error, reason = answer_command("/stock=two words")
    assert (body, error, reason) == ("/stock=two words", True, "'two words' is not a stock code.")
