"""Which ids the load scenarios ask for: the platform's own, unless the expectations name them.

Ranges that fit one platform (the sandbox's 1..450 players) send another into 404s that are the
scenario's mistake, not the platform's. So ids are taken from the platform itself: its read-only
database when the profile has one (ids that have stats, through the guide's own indexes), else
its list endpoint. Only with `expectations.load.ids` set are configured ranges used, and then a 404
is reported as a configured id the platform may not have.
"""

from __future__ import annotations

from dataclasses import dataclass

from nbaverify.clients import factory
from nbaverify.config import Target
from nbaverify.errors import ConfigError, NbaverifyError

SAMPLE = 500  # ids of each kind: enough variety for the cache, few enough to fetch in one query


@dataclass(frozen=True)
class Ids:
    """The player and game ids the load scenarios ask for (a list to pick from, or an inclusive
    range the expectations name), and where they came from; `config()` is their part of the Locust
    processes' config.json.
    """

    players: list[int] | tuple[int, int]  # a list to pick from, or an inclusive (low, high) range
    games: list[int] | tuple[int, int]
    source: str  # "database", "api" or "expectations"

    def config(self) -> dict:
        return {
            "players": list(self.players),
            "games": list(self.games),
            "source": self.source,
            "ranges": self.source == "expectations",
        }


def for_target(target: Target) -> Ids:
    configured = target.expectations["load.ids"]
    if configured["players"] or configured["games"]:
        return Ids(
            _range(target, configured, "players"),
            _range(target, configured, "games"),
            "expectations",
        )
    if target.profile.database is not None and target.secret("database.dsn_env"):
        return from_database(target)
    return from_api(target)


def _range(target: Target, configured: dict, kind: str) -> tuple[int, int]:
    """An inclusive [low, high] of the expectations: anything else is refused here, not raised by
    every request."""
    value = configured.get(kind)
    if not (
        isinstance(value, list)
        and len(value) == 2
        and all(type(n) is int for n in value)
        and 0 < value[0] <= value[1]
    ):
        raise ConfigError(
            str(target.source),
            f"expectations.load.ids.{kind}",
            f"must be an inclusive range [low, high] of positive ids, e.g. [1, 450]; got {value!r}"
            " (leave both players and games empty to use the platform's own ids)",
        )
    return value[0], value[1]


def from_database(target: Target) -> Ids:
    db = factory.database(target)
    try:
        # EXISTS through idx_player_stats / idx_game_stats: no scan of the big tables, at any size
        players = [
            r["id"]
            for r in db.rows(
                "SELECT p.id FROM players p WHERE EXISTS (SELECT 1 FROM player_stats s "
                "WHERE s.player_id = p.id) ORDER BY p.id LIMIT %s",
                (SAMPLE,),
            )
        ]
        games = [
            r["id"]
            for r in db.rows(
                "SELECT g.id FROM games g WHERE EXISTS (SELECT 1 FROM game_stats s "
                "WHERE s.game_id = g.id) ORDER BY g.id DESC LIMIT %s",
                (SAMPLE,),
            )
        ]
    except NbaverifyError as exc:
        raise ConfigError(
            str(target.source),
            "database",
            f"could not read the platform's ids for the load test: {exc}; "
            "fix the database section or name ids in expectations.load.ids",
        ) from None
    finally:
        db.close()
    if not players or not games:
        raise ConfigError(
            str(target.source),
            "database",
            f"the platform's database has {len(players)} player(s) and "
            f"{len(games)} game(s) with stats: nothing to load-test with",
        )
    return Ids(players, games, "database")


def from_api(target: Target) -> Ids:
    """Players from GET /api/players, games from their stats (no database in the profile)."""
    api = factory.api(target)
    try:
        token = api.token()
        reply = api.get("/api/players?limit=100", token=token)
        body = reply.json() if reply.status_code == 200 else {}
        rows = (body.get("players", body.get("data", [])) if isinstance(body, dict) else body) or []
        players = [int(p["id"]) for p in rows if isinstance(p, dict) and "id" in p]
        games: list[int] = []
        for player in players[:5]:
            stats = api.get(f"/api/players/{player}/stats", token=token)
            games += [
                int(g["game_id"])
                for g in (stats.json().get("games", []) if stats.status_code == 200 else [])
                if isinstance(g, dict) and "game_id" in g
            ]
    except (NbaverifyError, ValueError, TypeError, KeyError) as exc:
        raise ConfigError(
            str(target.source),
            "api",
            f"could not read the platform's ids from its API ({exc}); add a "
            "[database] section or name ids in expectations.load.ids",
        ) from None
    finally:
        api.close()
    if not players or not games:
        raise ConfigError(
            str(target.source),
            "api",
            "GET /api/players and the players' stats gave no ids to load-test "
            "with; add a [database] section or name ids in expectations.load.ids",
        )
    return Ids(players, sorted(set(games)), "api")
