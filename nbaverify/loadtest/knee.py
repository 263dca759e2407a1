"""The knee search of the capacity profile, as pure logic: which offered rate to try next, given how
the steps so far went, and when the knee is known. Running a step is someone else's
(nbaverify.loadtest.capacity).

A ladder of offered rates (start, x growth, ...) brackets the knee between the highest rate that
held and the lowest that did not; bisection narrows the bracket until it is within the tolerance; a
longer hold at the highest rate that held confirms it (a confirmation that fails steps down by the
tolerance).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from nbaverify.errors import ConfigError

CONFIRM_ATTEMPTS = 2


@dataclass(frozen=True)
class SearchSettings:
    """The knee search's settings, read and checked once from the capacity profile and
    load.capacity: the rates to try (req/s), the warm-up, step and hold lengths (seconds), the step
    budget, and the SLO a step must meet.
    """

    start_rps: float
    max_rps: float
    growth: float
    tolerance: float  # the bracket's width relative to its low end, when the search stops
    warmup_s: float
    step_s: float
    hold_s: float
    max_steps: int
    min_rps: float  # below this the search gives up: the platform holds no rate worth the name
    slo_p95_ms: float
    slo_error_ratio: float
    min_achieved_ratio: float  # achieved / offered under this: a backlog grows

    @classmethod
    def of(cls, profile: dict, capacity: dict) -> SearchSettings:
        where = "expectations.load.profiles.capacity"
        try:
            settings = cls(
                start_rps=float(profile["start_rps"]),
                max_rps=float(profile["max_rps"]),
                growth=float(profile["growth"]),
                tolerance=float(profile["tolerance_pct"]) / 100,
                warmup_s=float(profile["warmup_s"]),
                step_s=float(profile["step_s"]),
                hold_s=float(profile["hold_s"]),
                max_steps=int(profile["max_steps"]),
                min_rps=float(profile.get("min_rps", 1.0)),
                slo_p95_ms=float(capacity["slo_p95_ms"]),
                slo_error_ratio=float(capacity["slo_error_ratio"]),
                min_achieved_ratio=float(capacity["min_achieved_ratio"]),
            )
        except KeyError as exc:
            raise ConfigError(
                "expectations", where, f"missing {exc.args[0]!r} (see fixtures/expectations.toml)"
            ) from None
        except (TypeError, ValueError) as exc:
            raise ConfigError("expectations", where, f"not a number: {exc}") from None
        problems = [
            text
            for text, bad in [
                ("growth must be over 1", settings.growth <= 1),
                ("tolerance_pct must be over 0", settings.tolerance <= 0),
                (
                    "start_rps must be between min_rps and max_rps",
                    not settings.min_rps <= settings.start_rps <= settings.max_rps,
                ),
                (
                    "step_s and hold_s must be at least 3 s (a step is judged on whole seconds)",
                    min(settings.step_s, settings.hold_s) < 3,
                ),
                ("max_steps must be at least 2", settings.max_steps < 2),
            ]
            if bad
        ]
        if problems:
            raise ConfigError("expectations", where, problems[0])
        return settings


@dataclass
class Step:
    """One offered rate, held for a while after its warm-up, judged on the part after the
    warm-up."""

    number: int
    phase: str  # ladder | bisect | confirm
    offered_rps: float
    duration_s: float  # the judged part (after the warm-up)
    achieved_rps: float = 0.0
    requests: int = 0
    failures: int = 0
    unfinished: int = 0  # sent in the judged part and not answered before the step ended
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    error_ratio: float = 0.0
    held: bool = False
    reasons: list[str] = field(default_factory=list)  # why it did not hold
    wall_s: float = 0.0

    def judge(self, settings: SearchSettings) -> None:
        reasons = []
        if self.requests == 0:
            reasons.append("no request was answered")
        else:
            if self.p95_ms > settings.slo_p95_ms:
                reasons.append(
                    f"p95 {self.p95_ms:.0f} ms over the SLO's {settings.slo_p95_ms:.0f} ms"
                )
            if self.error_ratio > settings.slo_error_ratio:
                reasons.append(
                    f"errors {self.error_ratio:.2%} over the SLO's {settings.slo_error_ratio:.2%}"
                )
            if self.achieved_rps < settings.min_achieved_ratio * self.offered_rps:
                reasons.append(
                    f"achieved {self.achieved_rps:.1f} of {self.offered_rps:.1f} req/s offered"
                    f" ({self.achieved_rps / self.offered_rps:.0%}, under"
                    f" {settings.min_achieved_ratio:.0%}: a backlog grows)"
                )
        self.reasons, self.held = reasons, not reasons

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class KneeSearch:
    """The state of one knee search: the steps so far, the bracket (the highest rate that held, the
    lowest that broke) and whether the knee is confirmed. `next()` says what to try, `record()`
    takes a step's result; running it is nbaverify.loadtest.capacity's."""

    settings: SearchSettings
    steps: list[Step] = field(default_factory=list)
    held_at: float | None = None  # the highest offered rate that held (a failed hold withdraws it)
    broke_at: float | None = None  # the lowest that did not
    confirmed: bool = False
    stopped: str | None = None  # why the search ended without a knee (an abort is the runner's)
    # what qualifies a knee found: above max_rps, a budget that cut the bracket short
    note: str | None = None

    def next(self) -> tuple[str, float] | None:
        """(phase, offered rate) of the next step, or None when the search is over."""
        s = self.settings
        if self.confirmed or self.stopped:
            return None
        confirms = [step for step in self.steps if step.phase == "confirm"]
        if confirms:  # only a failed hold is followed by another
            if len(confirms) >= CONFIRM_ATTEMPTS:
                self.stopped = (
                    f"no hold at the knee held in {CONFIRM_ATTEMPTS} attempts: the platform is not"
                    " steady there"
                )
                return None
            return "confirm", round(confirms[-1].offered_rps / (1 + s.tolerance), 2)
        if not self.steps:
            return "ladder", s.start_rps
        if (
            self.held_at is not None
            and self.broke_at is not None
            and (self.broke_at - self.held_at) / self.held_at <= s.tolerance
        ):
            return self._confirm(None)
        if self.held_at is not None and self.broke_at is None and self.held_at >= s.max_rps:
            return self._confirm(
                f"every rate up to max_rps {s.max_rps:g} req/s held: the knee is above it"
            )
        if len(self.steps) >= s.max_steps:
            # every branch is bounded: climbing, climbing down, bisecting
            if self.held_at is None:
                self.stopped = (
                    f"the step budget ({s.max_steps}) ran out before any offered rate held"
                )
                return None
            if self.broke_at is None:
                return self._confirm(
                    f"the step budget ({s.max_steps}) ran out while climbing: the knee is above "
                    f"{self.held_at:g} req/s"
                )
            return self._confirm(
                f"the step budget ({s.max_steps}) ran out with the knee between {self.held_at:g}"
                f" and {self.broke_at:g} req/s, wider than {s.tolerance:.0%}"
            )
        if self.broke_at is None:  # still climbing
            return "ladder", min(s.max_rps, round(self.steps[-1].offered_rps * s.growth, 2))
        if self.held_at is None:  # the first rate already broke: climb down
            lower = round(self.steps[-1].offered_rps / s.growth, 2)
            if lower < s.min_rps:
                self.stopped = f"no offered rate down to {s.min_rps:g} req/s held"
                return None
            return "ladder", lower
        return "bisect", round((self.held_at + self.broke_at) / 2, 2)

    def _confirm(self, note: str | None) -> tuple[str, float]:
        assert self.held_at is not None
        self.note = note
        return "confirm", self.held_at

    def record(self, step: Step) -> None:
        self.steps.append(step)
        if step.held and step.phase == "confirm":
            self.confirmed, self.held_at = True, step.offered_rps
        elif step.held:
            self.held_at = max(self.held_at or 0.0, step.offered_rps)
        else:
            self.broke_at = min(self.broke_at or step.offered_rps, step.offered_rps)
            if step.phase == "confirm":
                self.held_at = None

    @property
    def knee_rps(self) -> float | None:
        """The highest offered rate that held, confirmed by the longer hold; None while unknown."""
        return self.held_at if self.confirmed else None
