"""The double's HTTP surface: the Kubernetes REST paths the official client lists and gets, and the probe's pods."""

from __future__ import annotations

import hmac
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nbaverify.clients.k8s import KINDS
from nbaverify.sandbox import control
from nbaverify.sandbox.kube import cluster


# (group, version, plural) -> kind: the resources the suite reads, from the client's own table
def _group_version(prefix: str) -> tuple[str, str]:
    """'/api/v1' -> ('', 'v1'); '/apis/apps/v1' -> ('apps', 'v1')."""
    parts = prefix.strip("/").split("/")
    return ("", parts[1]) if parts[0] == "api" else (parts[1], parts[2])


RESOURCES = {(*_group_version(prefix), plural): kind for kind, (prefix, plural, _) in KINDS.items()}
CLUSTER_SCOPED = {kind for kind, (_, _, namespaced) in KINDS.items() if not namespaced}


def _status(code: int, reason: str, message: str) -> JSONResponse:
    return JSONResponse({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                         "message": message, "reason": reason, "code": code}, status_code=code)


def create_app(manifests: Path, control_file: Path, token: str) -> Starlette:
    cache: dict[tuple, list[dict]] = {}
    probes: dict[tuple[str, str], dict] = {}  # pods the enforcement probe created: (namespace, name) -> pod

    def objects() -> list[dict]:
        files = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in manifests.glob("*.y*ml")))
        state = control.read(control_file)
        key = (files, state.generation, tuple(sorted(state.faults)))
        if key not in cache:
            cache.clear()
            cache[key] = cluster.build(manifests, state.faults)
        return cache[key]

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())

    async def version(request: Request) -> JSONResponse:
        return JSONResponse({"major": "1", "minor": "30", "gitVersion": "v1.30.0-nbaverify-double", "platform": "linux/amd64"})

    async def resources(request: Request) -> JSONResponse:
        if not authorised(request):
            return _status(401, "Unauthorized", "Unauthorized")
        p = request.path_params
        key = (p.get("group", ""), p["version"], p["plural"])
        kind = RESOURCES.get(key)
        if kind is None:
            return _status(404, "NotFound", f"the server could not find the requested resource ({'/'.join(key)})")
        namespace, name = p.get("namespace"), p.get("name")
        if kind in CLUSTER_SCOPED and namespace:
            return _status(404, "NotFound", f"{p['plural']} is not namespaced")
        everything = objects() + (list(probes.values()) if kind == "Pod" else [])
        found = [o for o in everything if o["kind"] == kind
                 and (namespace is None or o["metadata"].get("namespace") == namespace)]
        if name is not None:
            match = next((o for o in found if o["metadata"]["name"] == name), None)
            if match is None:
                return _status(404, "NotFound", f'{p["plural"]} "{name}" not found')
            return JSONResponse(match)
        api_version = f"{key[0]}/{key[1]}" if key[0] else key[1]
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in found]
        return JSONResponse({"kind": f"{kind}List", "apiVersion": api_version, "metadata": {"resourceVersion": "1"},
                             "items": items})

    async def read_only(request: Request) -> JSONResponse:
        if not authorised(request):
            return _status(401, "Unauthorized", "Unauthorized")
        p = request.path_params
        if (p.get("group"), p["version"], p["plural"]) == (None, "v1", "pods") and p.get("namespace"):
            return await probe_pods(request, p["namespace"], p.get("name"))
        return _status(405, "MethodNotAllowed", "this Kubernetes API test double changes nothing but probe pods")

    async def probe_pods(request: Request, namespace: str, name: str | None) -> JSONResponse:
        """The enforcement probe's throwaway pods: created already finished, with the verdict a CNI would give."""
        if request.method == "POST" and name is None:
            pod = await request.json()
            labels = pod.get("metadata", {}).get("labels") or {}
            if labels.get("app.kubernetes.io/managed-by") != "nbaverify":
                return _status(403, "Forbidden", "the test double creates only nbaverify's probe pods")
            command = pod["spec"]["containers"][0].get("command", [])
            pod = {**pod, "kind": "Pod", "metadata": {**pod["metadata"], "namespace": namespace},
                   "status": {"phase": cluster.probe_phase(objects(), namespace, labels, command)}}
            probes[(namespace, pod["metadata"]["name"])] = pod
            return JSONResponse(pod, status_code=201)
        if request.method == "DELETE" and name is not None:
            pod = probes.pop((namespace, name), None)
            return JSONResponse(pod) if pod else _status(404, "NotFound", f'pods "{name}" not found')
        return _status(405, "MethodNotAllowed", "this Kubernetes API test double changes nothing but probe pods")

    writes = ["POST", "PUT", "PATCH", "DELETE"]
    routes = [Route("/version", version), Route("/version/", version)]
    for prefix in ("/api/{version}", "/apis/{group}/{version}"):
        for tail in ("/{plural}", "/{plural}/{name}", "/namespaces/{namespace}/{plural}",
                     "/namespaces/{namespace}/{plural}/{name}"):
            routes += [Route(prefix + tail, resources, methods=["GET"]), Route(prefix + tail, read_only, methods=writes)]
    return Starlette(routes=routes)
