"""`k8s`: the platform's Kubernetes objects, from manifests on disk or from a live cluster.

Both sources answer the same two questions, `list(kind, namespace)` and `get(kind, name,
namespace)`, with plain dicts shaped as in a manifest (camelCase, `metadata`, `spec`, `status`),
so every spec-level check runs unchanged on both. Only a live source has status (pods, nodes,
a Deployment's available replicas); checks of status call `require_live()` and skip on manifests.

The cluster source is the official `kubernetes` client (kubeconfig context or in-cluster account),
every call with a timeout; a refused connection is remembered, so later checks learn it at once.
"""

from __future__ import annotations

import builtins
import json
import os
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import quote

import yaml

from nbaverify.errors import CheckError, NotConfigured, TargetUnreachable
from nbaverify.eventually import eventually
from nbaverify.io_stats import IO

# kind -> (API path, resource plural, namespaced): the REST paths the client GETs
PAGE_SIZE = 500  # what kubectl asks for a page (its --chunk-size)
# lists read at once by prefetch: within the client's connection pool (10), and gentle on the
# API server (kubectl's own default burst is 300 requests)
PREFETCH_THREADS = 8
KINDS: dict[str, tuple[str, str, bool]] = {
    "Namespace": ("/api/v1", "namespaces", False),
    "Node": ("/api/v1", "nodes", False),
    "Pod": ("/api/v1", "pods", True),
    "Service": ("/api/v1", "services", True),
    "ServiceAccount": ("/api/v1", "serviceaccounts", True),
    "Secret": ("/api/v1", "secrets", True),
    "ReplicationController": ("/api/v1", "replicationcontrollers", True),
    "Deployment": ("/apis/apps/v1", "deployments", True),
    "StatefulSet": ("/apis/apps/v1", "statefulsets", True),
    "DaemonSet": ("/apis/apps/v1", "daemonsets", True),
    "ReplicaSet": ("/apis/apps/v1", "replicasets", True),
    "Job": ("/apis/batch/v1", "jobs", True),
    "CronJob": ("/apis/batch/v1", "cronjobs", True),
    # the server converts every stored HPA to the version asked for; manifests may carry any of
    # autoscaling/v1, v2beta1, v2beta2 and v2 (nbaverify.probes.autoscaling reads each)
    "HorizontalPodAutoscaler": ("/apis/autoscaling/v2", "horizontalpodautoscalers", True),
    "Role": ("/apis/rbac.authorization.k8s.io/v1", "roles", True),
    "RoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "rolebindings", True),
    "ClusterRole": ("/apis/rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("/apis/rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "NetworkPolicy": ("/apis/networking.k8s.io/v1", "networkpolicies", True),
}


def ref(obj: dict, container: str | None = None) -> str:
    """How messages name an object: namespace/Kind/name, and the container when there is one."""
    meta = obj.get("metadata", {})
    where = "/".join(filter(None, [meta.get("namespace"), obj.get("kind"), meta.get("name")]))
    return f"{where} container {container}" if container else where


class Source:
    """Where the checks read Kubernetes objects from: the base of `ManifestSource` and
    `ClusterSource`.

    Both answer `list(kind, namespace)` and `get(kind, name, namespace)` with manifest-shaped dicts,
    so a spec-level check runs unchanged on either. `live` says whether there is status to read
    (`require_live` skips a check that needs it on manifests); `origin` (where an object was
    written) and `can` (the API server's own authorizer) answer None unless the source knows;
    `namespaces` lists where objects live; `close` releases a cluster's client; `unreadable` holds
    what a manifest source could not read as an object."""

    live: bool = False
    description: str = ""
    # what could not be read as an object, each "where: what" (manifests)
    unreadable: builtins.list[str] = []

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        raise NotImplementedError

    def get(self, kind: str, name: str, namespace: str | None = None) -> dict | None:
        return next(
            (o for o in self.list(kind, namespace) if o.get("metadata", {}).get("name") == name),
            None,
        )

    def load(self) -> None:
        """Import what reading needs, on the calling thread (a cluster: the official client);
        manifests are read already."""

    def prefetch(self, keys: Iterable[tuple[str, str | None]]) -> None:
        """Read these (kind, namespace) lists ahead, where reading is slow (a cluster); manifests
        are in memory already."""

    def close(self) -> None:
        """Nothing to release for manifests; a cluster source closes its client."""

    def origin(self, obj: dict) -> str | None:
        """Where an object was written (a manifest's file and line); None on a live cluster."""
        return None

    def can(
        self,
        user: str,
        groups: builtins.list[str],
        verb: str,
        resource: str,
        namespace: str = "",
        group: str = "",
    ) -> bool | None:
        """The API server's own answer to "may this user do that?": only a live cluster gives one
        (else None)."""
        return None

    def namespaces(self) -> builtins.list[str]:
        """Every namespace the source holds objects in (a cluster: its Namespace objects)."""
        return sorted(o["metadata"]["name"] for o in self.list("Namespace"))

    def require_live(self, what: str) -> None:
        if not self.live:
            raise NotConfigured(
                f'not configured: kubernetes.source = "cluster" ({what} is known only to a live '
                f"cluster; {self.description} holds specs)"
            )


class ManifestSource(Source):
    """The YAML a team deploys: every *.yaml / *.yml under a directory, multi-document, `kind: List`
    expanded.

    Each object remembers its file and line (`origin`), and what could not be read as an object (a
    document that is not a mapping, a List without items) is kept in `unreadable`, so a check names
    it instead of passing.
    """

    def __init__(self, directory: Path, default_namespace: str):
        self.directory = directory
        self.default_namespace = default_namespace
        self.description = f"manifests {directory}"
        self._objects: list[dict] | None = None
        self._origins: dict[int, str] = {}
        self.unreadable: builtins.list[str] = []

    def origin(self, obj: dict) -> str | None:
        """'fixtures/k8s/api.yaml line 3': where a manifest object was written."""
        return self._origins.get(id(obj))

    def _load(self) -> list[dict]:
        if self._objects is not None:
            return self._objects
        if not self.directory.is_dir():
            raise CheckError(
                f"kubernetes.manifests: {self.directory} is not a directory of manifests"
            )
        objects: list[dict] = []
        files = sorted(
            p for p in self.directory.rglob("*") if p.suffix in (".yaml", ".yml") and p.is_file()
        )
        for path in files:
            for obj, line in self._documents(path):
                where = f"{path} line {line}"
                if not isinstance(obj, dict):
                    self.unreadable.append(
                        f"{where}: a document that is not an object ({type(obj).__name__})"
                    )
                    continue
                if not obj.get("kind") or not isinstance(obj.get("kind"), str):
                    self.unreadable.append(f"{where}: an object without a kind")
                    continue
                if not isinstance(obj.get("metadata"), dict) or not obj["metadata"].get("name"):
                    self.unreadable.append(f"{where}: a {obj['kind']} without metadata.name")
                    continue
                namespaced = KINDS.get(obj["kind"], ("", "", True))[2]
                if namespaced:
                    obj["metadata"].setdefault("namespace", self.default_namespace)
                self._origins[id(obj)] = where
                objects.append(obj)
        if not objects:
            raise CheckError(f"kubernetes.manifests: no Kubernetes object in {self.directory}")
        self._objects = objects
        return objects

    def _documents(self, path: Path) -> Iterator[tuple[Any, int]]:
        """Every object of a file with the line it starts on, a List's items each on its own
        line."""
        loader = yaml.SafeLoader(path.read_text())
        try:
            while loader.check_node():
                node = loader.get_node()
                if node is None:
                    continue
                doc = loader.construct_document(node)
                line = node.start_mark.line + 1
                if isinstance(doc, dict) and doc.get("kind") == "List":
                    items = doc.get("items")
                    if not isinstance(items, list) or not items:
                        self.unreadable.append(f"{path} line {line}: a List without items")
                        continue
                    lines = _item_lines(node) or [line] * len(items)
                    yield from zip(items, lines, strict=False)
                elif doc is not None:
                    yield doc, line
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" line {mark.line + 1}" if mark else ""
            raise CheckError(
                f"manifest {path}{where} is not valid YAML: {getattr(exc, 'problem', exc)}"
            ) from None
        finally:
            loader.dispose()

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        return [
            o
            for o in self._load()
            if o["kind"] == kind
            and (namespace is None or o["metadata"].get("namespace") == namespace)
        ]

    def namespaces(self) -> builtins.list[str]:
        found = {o["metadata"]["name"] for o in self.list("Namespace")}
        found |= {
            o["metadata"]["namespace"] for o in self._load() if o["metadata"].get("namespace")
        }
        return sorted(found)


def _item_lines(node: yaml.Node) -> builtins.list[int]:
    """The lines of a List document's items (its `items` sequence)."""
    if not isinstance(node, yaml.MappingNode):
        return []
    for key, value in node.value:
        if getattr(key, "value", None) == "items" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


class ClusterSource(Source):
    """A live cluster through the official client: a kubeconfig context, or the in-cluster
    account."""

    live = True

    def __init__(self, context: str | None, kubeconfig: str | None, timeout_s: float):
        self.context = context
        self.kubeconfig = kubeconfig
        self.timeout_s = timeout_s
        self.description = f"cluster {context or 'in-cluster'}"
        self._client: Any = None  # kubernetes.client.ApiClient, imported on first use
        self._apis: dict[str, object] = {}
        self._unreachable: TargetUnreachable | None = None
        self._cache: dict[tuple[str, str | None], list[dict]] = {}

    def _api(self, name: str):
        """A typed API of the client (CoreV1Api...): only the probe needs one; listing goes through
        call_api, which spares every run the import of the generated API modules (CoreV1Api alone is
        4 MB of source).
        """
        if name not in self._apis:
            # heavy: the kubernetes client, only for a live cluster (see _connect)
            import kubernetes.client

            self._apis[name] = getattr(kubernetes.client, name)(self._connected())
        return self._apis[name]

    def _connected(self):
        if self._client is None:
            self._client = self._connect()
        return self._client

    def load(self) -> None:
        """Import the official client and make the loggers it makes, on the calling thread.

        Importing it and configuring it make some fifty loggers, and pytest's logging plugin walks
        the registry of loggers around every check without a lock: a thread making one meanwhile
        errs that check ("dictionary changed size during iteration"). So a run calls this on its
        main thread before connecting in the background (nbaverify.plugins.fixtures)."""
        # heavy: the kubernetes client (~220 ms, urllib3 with it); only a live cluster needs it
        import kubernetes.client
        import kubernetes.config  # its loggers; _connect uses it

        kubernetes.client.Configuration()  # makes the "client" and "urllib3" loggers

    def _connect(self):
        # heavy: the kubernetes client (~220 ms, urllib3 with it); only a live cluster needs it
        import kubernetes.client
        import kubernetes.config
        import urllib3

        configuration = kubernetes.client.Configuration()
        try:
            if (
                self.context is None
                and not self.kubeconfig
                and os.environ.get("KUBERNETES_SERVICE_HOST")
            ):
                kubernetes.config.load_incluster_config(client_configuration=configuration)
            else:
                kubernetes.config.load_kube_config(
                    config_file=self.kubeconfig,
                    context=self.context,
                    client_configuration=configuration,
                    persist_config=False,
                )
        except (kubernetes.config.ConfigException, OSError) as exc:
            where = self.kubeconfig or os.environ.get("KUBECONFIG") or "~/.kube/config"
            raise CheckError(
                f"kubernetes: cannot use context {self.context!r} of {where}: "
                f"{str(exc).splitlines()[0]} (kubectl config get-contexts lists them)"
            ) from None
        configuration.retries = urllib3.Retry(total=1, connect=1, read=0, backoff_factor=0)
        self.server = configuration.host
        return kubernetes.client.ApiClient(configuration)

    def list(self, kind: str, namespace: str | None = None) -> list[dict]:
        key = (kind, namespace)
        if key not in self._cache:  # one run sees one state of the cluster: list each kind once
            self._cache[key] = self._list(kind, namespace)
        return self._cache[key]

    def prefetch(self, keys: Iterable[tuple[str, str | None]]) -> None:
        """List these side by side (a check over every pod-bearing kind of every namespace asks
        for dozens, each a round trip). Only what was read is kept: a list that failed is listed
        again when a check asks, and fails there, in that check, with its message."""
        missing = [key for key in dict.fromkeys(keys) if key not in self._cache]
        if len(missing) < 2 or self._unreachable:
            return
        self._connected()  # once, before the threads share the client (its pool is thread-safe)

        def attempt(key: tuple[str, str | None]) -> builtins.list[dict] | None:
            try:
                return self._list(*key)
            except (CheckError, TargetUnreachable):
                return None

        with ThreadPoolExecutor(max_workers=min(PREFETCH_THREADS, len(missing))) as pool:
            for key, items in zip(missing, pool.map(attempt, missing), strict=True):
                if items is not None:
                    self._cache.setdefault(key, items)

    def _get(self, path: str, what: str) -> Any:
        """GET a path of the API as JSON; `what` names it in messages ("listing Pod in namespace
        x")."""
        # heavy: the kubernetes client, only for a live cluster (see _connect)
        import urllib3
        from kubernetes.client.exceptions import ApiException

        if self._unreachable:
            raise self._unreachable
        client = self._connected()
        try:
            with IO.timed("kubernetes"):
                request = client.param_serialize(
                    "GET",
                    path,
                    header_params={"Accept": "application/json"},
                    auth_settings=["BearerToken"],
                )
                reply = client.call_api(*request, _request_timeout=self.timeout_s)
                reply.read()
                if reply.status >= 400:
                    raise ApiException(status=reply.status, reason=reply.reason)
                return json.loads(reply.data)
        except ApiException as exc:
            if exc.status in (401, 403):
                raise CheckError(
                    f"kubernetes {self.server}: HTTP {exc.status} {what}: the suite's account needs"
                    " get/list on it (see ci/kubernetes/cronjobs.yaml, ClusterRole"
                    " nbaverify-reader)"
                ) from None
            if exc.status == 404:
                # the API (e.g. autoscaling/v2) is not served: nothing of that kind exists
                return None
            raise CheckError(
                f"kubernetes {self.server}: HTTP {exc.status} {what}: {exc.reason}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = str(getattr(exc, "reason", None) or exc).splitlines()[0]
            self._unreachable = TargetUnreachable("Kubernetes API", self.server, reason)
            raise self._unreachable from None

    def _list(self, kind: str, namespace: str | None) -> builtins.list[dict]:
        """Every object of a kind, a page of PAGE_SIZE at a time (limit / continue), so a cluster of
        thousands of pods is never one response the API server must build, and the suite must hold
        twice, at once.
        """
        prefix, plural, namespaced = KINDS[kind]
        path = (
            f"{prefix}/namespaces/{namespace}/{plural}"
            if namespaced and namespace
            else f"{prefix}/{plural}"
        )
        what = f"listing {kind}" + (f" in namespace {namespace}" if namespace else "")
        items: builtins.list[dict] = []
        token = ""
        while True:
            page = (
                self._get(
                    f"{path}?limit={PAGE_SIZE}" + (f"&continue={quote(token)}" if token else ""),
                    what,
                )
                or {}
            )
            items += page.get("items", [])
            token = (page.get("metadata") or {}).get("continue") or ""
            if not token:
                break
        for item in items:  # list items carry no kind; the checks name objects by it
            item.setdefault("kind", kind)
        return items

    def can(
        self,
        user: str,
        groups: builtins.list[str],
        verb: str,
        resource: str,
        namespace: str = "",
        group: str = "",
    ) -> bool | None:
        """Ask the API server's own authorizer (a SubjectAccessReview): may this user do that? None
        when the suite's account may not ask (it needs create on subjectaccessreviews)."""
        # heavy: the kubernetes client, only for a live cluster (see _connect)
        import urllib3
        from kubernetes.client.exceptions import ApiException

        if self._unreachable:
            raise self._unreachable
        name, _, sub = resource.partition("/")
        body = {
            "apiVersion": "authorization.k8s.io/v1",
            "kind": "SubjectAccessReview",
            "spec": {
                "user": user,
                "groups": groups,
                "resourceAttributes": {
                    "verb": verb,
                    "resource": name,
                    "subresource": sub,
                    "group": group,
                    "namespace": namespace,
                },
            },
        }
        client = self._connected()
        try:
            with IO.timed("kubernetes"):
                request = client.param_serialize(
                    "POST",
                    "/apis/authorization.k8s.io/v1/subjectaccessreviews",
                    header_params={
                        "Accept": "application/json",
                        "Content-Type": "application/json",
                    },
                    body=body,
                    auth_settings=["BearerToken"],
                )
                reply = client.call_api(*request, _request_timeout=self.timeout_s)
                reply.read()
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            reason = str(getattr(exc, "reason", None) or exc).splitlines()[0]
            self._unreachable = TargetUnreachable("Kubernetes API", self.server, reason)
            raise self._unreachable from None
        except ApiException:
            return None
        if reply.status in (401, 403, 404):
            return None
        if reply.status >= 400:
            raise CheckError(
                f"kubernetes {self.server}: HTTP {reply.status} asking a SubjectAccessReview:"
                f" {reply.reason}"
            )
        return bool((json.loads(reply.data).get("status") or {}).get("allowed"))

    def server_version(self) -> str:
        """The API server's gitVersion (GET /version), e.g. v1.36.4."""
        return str((self._get("/version", "reading /version") or {}).get("gitVersion", ""))

    def pod_log(
        self,
        pod: str,
        namespace: str,
        container: str,
        *,
        previous: bool,
        since_s: float,
        limit_bytes: int,
    ) -> str:
        """One container's log as the kubelet keeps it (read_namespaced_pod_log, its lines stamped),
        raw."""
        # heavy: the kubernetes client, only for a live cluster (see _connect)
        import urllib3
        from kubernetes.client.exceptions import ApiException

        if self._unreachable:
            raise self._unreachable
        core = self._api("CoreV1Api")
        where = f"{namespace}/Pod/{pod} container {container}{' (previous)' if previous else ''}"
        try:
            with IO.timed("kubernetes"):
                reply = core.read_namespaced_pod_log(
                    pod,
                    namespace,
                    container=container,
                    previous=previous,
                    since_seconds=max(1, int(since_s)),
                    timestamps=True,
                    limit_bytes=limit_bytes,
                    _preload_content=False,
                    _request_timeout=self.timeout_s,
                )
            return reply.data.decode(errors="replace")
        except ApiException as exc:
            if exc.status in (401, 403):
                raise CheckError(
                    f"kubernetes {self.server}: HTTP {exc.status} reading the log of {where}: the"
                    " suite's account needs get on pods/log (ClusterRole nbaverify-reader)"
                ) from None
            raise CheckError(
                f"kubernetes {self.server}: HTTP {exc.status} reading the log of {where}:"
                f" {exc.reason}"
            ) from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            self._unreachable = TargetUnreachable(
                "Kubernetes API",
                self.server,
                str(getattr(exc, "reason", None) or exc).splitlines()[0],
            )
            raise self._unreachable from None

    def run_probe(
        self,
        namespace: str,
        labels: dict,
        image: str,
        command: builtins.list[str],
        timeout_s: float,
    ) -> str:
        """Run a throwaway pod to completion and delete it: its phase, Succeeded or Failed.

        What the enforcement probe does to a cluster: it creates one pod (labelled
        app.kubernetes.io/managed-by=nbaverify) and deletes it, whatever happens.
        """
        # heavy: the kubernetes client, only for a live cluster (see _connect)
        from kubernetes.client.exceptions import ApiException

        core = self._api("CoreV1Api")
        name = f"nbaverify-probe-{os.urandom(3).hex()}"
        body = {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": name,
                "labels": {**labels, "app.kubernetes.io/managed-by": "nbaverify"},
            },
            "spec": {
                "restartPolicy": "Never",
                "automountServiceAccountToken": False,
                "containers": [
                    {
                        "name": "probe",
                        "image": image,
                        "command": command,
                        "resources": {"limits": {"cpu": "100m", "memory": "32Mi"}},
                    }
                ],
            },
        }
        try:
            with IO.timed("kubernetes"):
                core.create_namespaced_pod(namespace, body, _request_timeout=self.timeout_s)

            def finished() -> str:
                with IO.timed("kubernetes"):
                    reply = core.read_namespaced_pod(
                        name, namespace, _preload_content=False, _request_timeout=self.timeout_s
                    )
                phase = json.loads(reply.data).get("status", {}).get("phase")
                assert phase in (
                    "Succeeded",
                    "Failed",
                ), f"probe pod {namespace}/{name} still {phase}"
                return phase

            return eventually(finished, timeout=timeout_s, interval=1.0)
        except ApiException as exc:
            raise CheckError(
                f"kubernetes {self.server}: HTTP {exc.status} running probe pod {namespace}/{name}:"
                f" {exc.reason} (the suite's account needs create/get/delete on pods there)"
            ) from None
        finally:
            try:
                core.delete_namespaced_pod(
                    name, namespace, _request_timeout=self.timeout_s, grace_period_seconds=0
                )
            except Exception:  # noqa: BLE001 - best effort: the pod is labelled managed-by=nbaverify for a sweep
                pass

    def close(self) -> None:
        if self._client is not None:
            self._client.close()


def open_source(section, profile_dir: Path, timeout_s: float) -> Source:
    if section.source == "manifests":
        if not section.manifests:
            raise NotConfigured("not configured: kubernetes.manifests")
        path = Path(section.manifests)
        if not path.is_absolute():  # relative to the profile's folder
            path = profile_dir / path
        return ManifestSource(path, section.namespace)
    return ClusterSource(section.context, section.kubeconfig, timeout_s)
