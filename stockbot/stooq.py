"""Fetch one quote from Stooq, or raise a QuoteError with a reason a person can read."""
import csv
import io
import logging
from dataclasses import dataclass
from urllib.parse import quote

import requests
from django.conf import settings

log = logging.getLogger("stockbot.stooq")

CSV_HEADER = ["Symbol", "Date", "Time", "Open", "High", "Low", "Close", "Volume"]


class QuoteError(Exception):
    pass


@dataclass(frozen=True)
class Quote:
    symbol: str
    close: str

    def as_post(self):
        return f"{self.symbol} quote is ${self.close} per share"


def quote_url(code):
    """`STOOQ_URL?s=<code>&f=sd2t2ohlcv&h&e=csv`, the code URL-encoded as one value."""
    query = f"s={quote(code, safe='')}&f=sd2t2ohlcv&h&e=csv"
    if settings.STOOQ_API_KEY:
        query += f"&apikey={quote(settings.STOOQ_API_KEY, safe='')}"
    return f"{settings.STOOQ_URL}{'&' if '?' in settings.STOOQ_URL else '?'}{query}"


def fetch_quote(code):
    try:
        response = requests.get(quote_url(code), timeout=settings.STOOQ_TIMEOUT_SECONDS)
    except requests.Timeout:
        raise QuoteError("The quote service took too long to answer; try again later.")
    except requests.RequestException as exc:
        log.warning("stooq request for %r failed: %r", code, exc)
        raise QuoteError("The quote service can't be reached right now; try again later.")
    if response.status_code != 200:
        raise QuoteError(f"The quote service answered with an error (HTTP {response.status_code}); try again later.")
    return parse_quote(response.text, code)


def parse_quote(text, code):
    if not text.strip():
        raise QuoteError("The quote service sent an empty answer; try again later.")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    if not rows or [cell.strip() for cell in rows[0]] != CSV_HEADER:
        # Stooq may answer an HTML page or "Exceeded the daily hits limit" with status 200.
        raise QuoteError("The quote service did not send a quote (it may be over its limit); try again later.")
    if len(rows) < 2 or len(rows[1]) != len(CSV_HEADER):
        raise QuoteError("The quote service sent a malformed answer; try again later.")
    record = dict(zip(CSV_HEADER, (cell.strip() for cell in rows[1])))
    close = record["Close"]
    if close.upper() == "N/D" or record["Date"].upper() == "N/D":
        raise QuoteError(f"No quote found for {code!r}: is the code right?")
    try:
        float(close)
    except ValueError:
        raise QuoteError("The quote service sent a malformed price; try again later.")
    return Quote(symbol=record["Symbol"].upper(), close=close)
