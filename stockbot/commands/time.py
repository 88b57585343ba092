"""/time <zone>: the time now in an IANA time zone (UTC without one), posted in the room."""
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, available_timezones

from stockbot.commands import Command, CommandError, Reply

ZONE_MAX_LENGTH = 64


@lru_cache(maxsize=1)
def zones_by_lower_name():
    return {name.lower(): name for name in available_timezones()}


def zone_named(name):
    """The zone for `name`, whatever its case ("europe/paris", "UTC")."""
    canonical = zones_by_lower_name().get(name.strip().lower().replace(" ", "_"))
    if canonical is None or len(name) > ZONE_MAX_LENGTH:
        raise CommandError(
            f"{name[:ZONE_MAX_LENGTH]!r} is not a time zone; use an IANA name, e.g. /time Europe/Paris or /time America/New_York"
        )
    return canonical, ZoneInfo(canonical)


def time_in(argument, now=None):
    name, zone = zone_named(argument or "UTC")
    local = (now or datetime.now(timezone.utc)).astimezone(zone)
    offset = local.strftime("%z")
    return Reply(
        f"Time in {name}: {local:%H:%M} on {local:%A} {local.day} {local:%B %Y} "
        f"({local.tzname()}, UTC{offset[:3]}:{offset[3:]})"
    )


COMMAND = Command(
    name="time",
    usage="/time <zone>",
    help="the time now in a time zone, e.g. /time Europe/Paris (UTC without one)",
    handler=time_in,
)
