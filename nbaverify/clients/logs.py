"""`logs`: the API's log over a window, from one of two places the profile names ([logs] source).

- "kubernetes": every pod of the api Deployment through the official client's
  `read_namespaced_pod_log` (current container, and the previous one where a container restarted
  within the window), with `since_seconds`, `timestamps` and `limit_bytes`; raw lines, as the
  kubelet keeps them.
- "hosts": log files on the profile's hosts through testinfra (the newest `limit_bytes` of each
  file, and its first rotation `<file>.1` when the window reaches back past the file's first line).

Each stream says what of the window it could not cover (`gaps`): lines lost to restarts, a cut at
limit_bytes, a rotation not read. A gap is named, never silently passed over.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Protocol

from nbaverify.errors import CheckError
from nbaverify.label_selectors import selector_matches
from nbaverify.log_records import first_timestamp


@dataclass
class LogStream:
    """One log as read for the review: where it came from (a pod's container, or a file on a host),
    its raw text, when it began if known, and what of the window it could not cover (`gaps`)."""

    # where the lines come from: pod and container, or host and file
    name: str
    text: str  # raw, as read
    started: dt.datetime | None = None  # when the stream begins (the container's start), when known
    gaps: list[str] = field(default_factory=list)
    kubelet_stamps: bool = False  # each line starts with the kubelet's time (timestamps=true)


class LogSource(Protocol):
    """Where the API's log is read from, as [logs] source says (`PodLogs`, `HostLogFiles`):
    `read(window_s)` gives the streams it read."""

    description: str

    def read(self, window_s: float) -> list[LogStream]: ...


def _when(raw: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def _ago(when: dt.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M:%SZ")


class PodLogs:
    """The pods of one Deployment, through the cluster source's client (the same connection,
    timeout, account)."""

    def __init__(self, cluster, namespace: str, deployment: str, limit_bytes: int):
        self.cluster, self.namespace, self.deployment = cluster, namespace, deployment
        self.limit_bytes = limit_bytes
        self.description = f"pods of deployment {namespace}/{deployment}"

    def read(self, window_s: float) -> list[LogStream]:
        self.cluster.require_live("pod logs")
        found = self.cluster.get("Deployment", self.deployment, self.namespace)
        if found is None:
            raise CheckError(
                f"logs: no Deployment {self.namespace}/{self.deployment} to read the logs of "
                "(logs.deployment in the profile)"
            )
        selector = found.get("spec", {}).get("selector")
        pods = [
            p
            for p in self.cluster.list("Pod", self.namespace)
            if selector_matches(selector, p.get("metadata", {}).get("labels") or {})
        ]
        window_start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=window_s)
        streams = []
        for pod in pods:
            name = pod["metadata"]["name"]
            for status in pod.get("status", {}).get("containerStatuses", []):
                streams += self._container(name, status, window_s, window_start)
        return streams

    def _container(
        self, pod: str, status: dict, window_s: float, window_start: dt.datetime
    ) -> list[LogStream]:
        container = status["name"]
        where = f"{self.namespace}/Pod/{pod} container {container}"
        state = status.get("state", {})
        started = _when((state.get("running") or {}).get("startedAt"))
        streams = [
            LogStream(
                where,
                self._fetch(pod, container, window_s, previous=False),
                started,
                kubelet_stamps=True,
            )
        ]
        last = (status.get("lastState") or {}).get("terminated") or {}
        finished = _when(last.get("finishedAt"))
        if status.get("restartCount", 0) and finished and finished >= window_start:
            before = LogStream(
                f"{where} (previous)",
                self._fetch(pod, container, window_s, previous=True),
                _when(last.get("startedAt")),
                kubelet_stamps=True,
            )
            streams.append(before)
            if status["restartCount"] > 1 and (
                before.started is None or before.started > window_start
            ):
                since = f" before {_ago(before.started)}" if before.started else ""
                before.gaps.append(
                    f"{where} restarted {status['restartCount']} times; the kubelet keeps only the "
                    f"previous container's log: the window's lines{since} are lost"
                )
        for stream in streams:
            if len(stream.text.encode()) >= self.limit_bytes:
                stream.gaps.append(
                    f"{stream.name}: the log was cut at logs.limit_bytes ({self.limit_bytes}"
                    " bytes): the window's newest lines were not read"
                )
        return streams

    def _fetch(self, pod: str, container: str, window_s: float, previous: bool) -> str:
        return self.cluster.pod_log(
            pod,
            self.namespace,
            container,
            previous=previous,
            since_s=window_s,
            limit_bytes=self.limit_bytes,
        )


class HostLogFiles:
    """Log files on a host (testinfra): the newest limit_bytes of each, and its first rotation when
    needed."""

    def __init__(self, host, host_url: str, files: list[str], limit_bytes: int):
        self.host, self.host_url, self.files, self.limit_bytes = host, host_url, files, limit_bytes
        self.description = f"log files {', '.join(files)} on {host_url}"

    def _tail(self, path: str) -> str | None:
        out = self.host.run("tail -c %s %s", str(self.limit_bytes), path)
        return out.stdout if out.rc == 0 else None

    def read(self, window_s: float) -> list[LogStream]:
        window_start = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=window_s)
        streams = []
        for path in self.files:
            text = self._tail(path)
            if text is None:
                raise CheckError(
                    f"logs: {path} on {self.host_url} cannot be read (logs.files in the profile)"
                )
            stream = LogStream(f"{self.host_url} {path}", text)
            if len(text.encode()) >= self.limit_bytes:
                stream.gaps.append(
                    f"{stream.name}: only its newest {self.limit_bytes} bytes were read "
                    "(logs.limit_bytes): older lines of the window may be missed"
                )
            oldest = first_timestamp(text)
            if oldest and oldest > window_start:
                # the window reaches back past this file: its rotation
                rotated = self._tail(f"{path}.1")
                if rotated is not None:
                    streams.append(LogStream(f"{self.host_url} {path}.1", rotated))
                elif self.host.run(
                    "ls -1 %s.1.gz %s.2 %s.2.gz 2>/dev/null", path, path, path
                ).stdout.strip():
                    stream.gaps.append(
                        f"{stream.name}: rotated, and its rotations before {_ago(oldest)} are "
                        "compressed or older than .1: not read"
                    )
            streams.append(stream)
        return streams
