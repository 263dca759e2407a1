"""The capacity plan's other half: how far the platform can scale (the api Deployment's replicas,
its HorizontalPodAutoscaler, the database's connection limit) and how much it has had to serve (the
observed peak request rate, from Prometheus). Each figure says where it came from; one that could
not be read is None with the reason, never a guess."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field

from nbaverify.clients import factory
from nbaverify.config import Target
from nbaverify.errors import NbaverifyError


@dataclass
class Fleet:
    """How far the platform can scale, each figure with where it was read: the api Deployment's
    replicas, its autoscaler's maxReplicas and CPU target (percent of the request), the database's
    connections less the superuser reserve, and the API's pool a pod; `unknown` says what could not
    be read, and why."""

    deployment: str
    replicas: int | None = None  # serving during the test
    replicas_from: str = ""
    hpa_max_replicas: int | None = None
    hpa_target_utilization: float | None = None  # percent of the CPU request
    hpa_from: str = ""
    max_connections: int | None = None  # the database's, less the superuser reserve
    pool_max: int = 0  # the API's pool, per pod
    unknown: list[str] = field(default_factory=list)  # what could not be read, and why

    @property
    def database_cap(self) -> int | None:
        """How many api pods the database can take, each with a full pool."""
        if self.max_connections is None or not self.pool_max:
            return None
        return self.max_connections // self.pool_max

    def as_dict(self) -> dict:
        return {**asdict(self), "database_cap": self.database_cap}


@dataclass
class Projection:
    """The knee carried to the whole fleet: req/s a replica, the replicas it can scale to
    (maxReplicas, capped by the database), the projected req/s there (None where a figure is
    missing), and the assumption behind it, in words.
    """

    per_replica_rps: float | None
    scalable_replicas: int | None  # maxReplicas, capped by the database
    projected_max_rps: float | None
    assumption: str


def read_fleet(target: Target) -> Fleet:
    capacity = target.expectations["load.capacity"]
    fleet = Fleet(
        deployment=capacity["deployment"],
        pool_max=int(target.expectations["database.connections.max_per_application"]),
    )
    _from_kubernetes(target, fleet, capacity)
    if capacity["replicas"]:
        # the profile's figure wins: the person running the test knows what served it
        fleet.replicas, fleet.replicas_from = (
            int(capacity["replicas"]),
            "expectations load.capacity.replicas",
        )
        fleet.unknown = [u for u in fleet.unknown if not u.startswith("replicas")]
    _from_database(target, fleet)
    return fleet


def _namespace(target: Target, capacity: dict) -> str:
    section = target.profile.kubernetes
    return capacity.get("namespace") or (section.namespace if section else "nba-stats")


def _from_kubernetes(target: Target, fleet: Fleet, capacity: dict) -> None:
    section = target.profile.kubernetes
    if section is None:
        fleet.unknown += [
            "replicas: no [kubernetes] section",
            "autoscaler: no [kubernetes] section",
        ]
        return
    namespace = _namespace(target, capacity)
    source = factory.kubernetes(target)
    where = f"{namespace}/Deployment/{fleet.deployment}"
    try:
        deployment = source.get("Deployment", fleet.deployment, namespace)
        if deployment is None:
            fleet.unknown.append(f"replicas: no Deployment {namespace}/{fleet.deployment}")
        elif section.source == "cluster":
            fleet.replicas = int((deployment.get("status") or {}).get("readyReplicas") or 0)
            fleet.replicas_from = f"{where} status.readyReplicas"
        else:
            fleet.replicas = int(deployment.get("spec", {}).get("replicas", 1))
            fleet.replicas_from = f"{where} spec.replicas (manifests: as declared)"
        hpas = [
            h
            for h in source.list("HorizontalPodAutoscaler", namespace)
            if h.get("spec", {}).get("scaleTargetRef", {}).get("name") == fleet.deployment
        ]
        if not hpas:
            fleet.unknown.append(
                f"autoscaler: no HorizontalPodAutoscaler in {namespace} scales {fleet.deployment}"
            )
        else:
            spec = hpas[0]["spec"]
            fleet.hpa_max_replicas = int(spec["maxReplicas"])
            fleet.hpa_target_utilization = _cpu_target(spec)
            fleet.hpa_from = f"{namespace}/HorizontalPodAutoscaler/{hpas[0]['metadata']['name']}"
            if fleet.hpa_target_utilization is None:
                fleet.unknown.append(f"autoscaler: {fleet.hpa_from} has no CPU utilisation target")
    except NbaverifyError as exc:
        fleet.unknown.append(f"replicas and autoscaler: {exc}")
    finally:
        source.close()


def _cpu_target(spec: dict) -> float | None:
    for metric in spec.get("metrics", []):
        resource = metric.get("resource") or {}
        if metric.get("type") == "Resource" and resource.get("name") == "cpu":
            utilization = (resource.get("target") or {}).get("averageUtilization")
            return float(utilization) if utilization is not None else None
    return None


def _from_database(target: Target, fleet: Fleet) -> None:
    if not (target.profile.database and target.secret("database.dsn_env")):
        fleet.unknown.append("database limit: no [database] section")
        return
    db = factory.database(target)
    try:
        row = db.single(
            "SELECT current_setting('max_connections')::int AS max, "
            "current_setting('superuser_reserved_connections')::int AS reserved"
        )
        fleet.max_connections = int(row["max"]) - int(row["reserved"])
    except NbaverifyError as exc:
        fleet.unknown.append(f"database limit: {exc}")
    finally:
        db.close()


def project(knee_rps: float | None, fleet: Fleet) -> Projection:
    """Linear in replicas, each held to the autoscaler's target, the fleet capped by the
    database."""
    cap = fleet.database_cap
    scalable = fleet.hpa_max_replicas
    if scalable is not None and cap is not None:
        scalable = min(scalable, cap)
    utilization = fleet.hpa_target_utilization
    assumption = (
        "throughput grows linearly with replicas; each replica is held to the autoscaler's CPU"
        f" target ({utilization:g} %) of what one served at the knee; the fleet stops at"
        f" maxReplicas or where the database's {fleet.max_connections} connections run out at"
        f" {fleet.pool_max} per pod, whichever is fewer"
        if utilization is not None
        else "throughput grows linearly with replicas"
    )
    if knee_rps is None or not fleet.replicas:
        return Projection(None, scalable, None, assumption)
    per_replica = knee_rps / fleet.replicas
    if scalable is None or utilization is None:
        return Projection(round(per_replica, 2), scalable, None, assumption)
    return Projection(
        round(per_replica, 2),
        scalable,
        round(per_replica * scalable * utilization / 100, 1),
        assumption,
    )


def peak_query(capacity: dict) -> str:
    """The PromQL of the highest request rate over the period (expectations.load.capacity's
    peak_*)."""
    window = f"{capacity['peak_window']}:{capacity['peak_step']}"
    return f"max_over_time(({capacity['peak_rate']})[{window}])"


def observed_peak(target: Target, until: dt.datetime) -> tuple[float | None, str]:
    """The highest request rate the API served over the period before `until` (the test's start, so
    the test's own load is not its peak), and the query that says so; None and why when it cannot be
    read.
    """
    section = target.profile.prometheus
    expr = peak_query(target.expectations["load.capacity"])
    if section is None:
        return None, "no [prometheus] section"
    prom = factory.prometheus(target, timeout_s=max(30.0, target.expectations["api.timeout_s"]))
    try:
        result = prom.query(expr, at=until.timestamp())
    except NbaverifyError as exc:
        return None, f"{expr}: {exc}"
    finally:
        prom.close()
    if not result:
        return None, f"{expr}: no data over the period"
    return round(max(float(r["value"][1]) for r in result), 2), expr
