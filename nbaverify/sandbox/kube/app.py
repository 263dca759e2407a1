"""The double's HTTP surface: the Kubernetes REST paths the official client lists and gets, and the probe's pods."""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route

from nbaverify.clients.k8s import KINDS
from nbaverify.sandbox import control
from nbaverify.sandbox.kube import cluster, pod_logs


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


def _int_param(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    return int(raw) if raw is not None and raw.lstrip("-").isdigit() else None


def _page(request: Request, items: list[dict]) -> tuple[list[dict], dict]:
    """A list's `limit` / `continue` as the API server pages it: a chunk, and a token for the rest."""
    limit = _int_param(request, "limit")
    token = request.query_params.get("continue", "")
    try:
        start = int(base64.urlsafe_b64decode(token.encode()).decode()) if token else 0
    except ValueError:
        raise ValueError("continue token is not one this server issued") from None
    if not limit or limit <= 0:
        return items[start:], {}
    end = start + limit
    if end >= len(items):
        return items[start:], {}
    return items[start:end], {"continue": base64.urlsafe_b64encode(str(end).encode()).decode(),
                              "remainingItemCount": len(items) - end}


def create_app(manifests: Path, control_file: Path, token: str, api_logs: pod_logs.ApiLogFiles | None = None,
               scale_file: Path | None = None) -> Starlette:
    cache: dict[tuple, list[dict]] = {}
    probes: dict[tuple[str, str], dict] = {}  # pods the enforcement probe created: (namespace, name) -> pod

    def objects() -> list[dict]:
        files = tuple(sorted((p.name, p.stat().st_mtime_ns) for p in manifests.glob("*.y*ml")))
        state = control.read(control_file)
        started = api_logs.started() if api_logs else None
        scale = int(scale_file.read_text().strip() or 1) if scale_file and scale_file.exists() else 1
        key = (files, state.generation, tuple(sorted(state.faults)), started, scale)
        if key not in cache:
            cache.clear()
            cache[key] = cluster.build(manifests, state.faults, api_started=started, scale=scale)
        return cache[key]

    def authorised(request: Request) -> bool:
        given = request.headers.get("authorization", "").removeprefix("Bearer ")
        return hmac.compare_digest(given.encode(), token.encode())

    async def version(request: Request) -> JSONResponse:
        major, minor, _ = cluster.KUBERNETES_VERSION.lstrip("v").split(".")
        return JSONResponse({"major": major, "minor": minor, "gitVersion": f"{cluster.KUBERNETES_VERSION}-nbaverify-double",
                             "platform": "linux/amd64"})

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
        try:
            chunk, more = _page(request, found)
        except ValueError as exc:
            return _status(410, "Expired", str(exc))
        items = [{k: v for k, v in o.items() if k not in ("kind", "apiVersion")} for o in chunk]
        return JSONResponse({"kind": f"{kind}List", "apiVersion": api_version,
                             "metadata": {"resourceVersion": "1", **more}, "items": items})

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

    async def pod_log(request: Request):
        """GET .../pods/{name}/log as the kubelet answers it: plain text, or a Status for what it cannot serve."""
        if not authorised(request):
            return _status(401, "Unauthorized", "Unauthorized")
        namespace, name = request.path_params["namespace"], request.path_params["name"]
        pod = next((o for o in objects() if o["kind"] == "Pod" and o["metadata"]["name"] == name
                    and o["metadata"]["namespace"] == namespace), None)
        if pod is None:
            return _status(404, "NotFound", f'pods "{name}" not found')
        statuses = {s["name"]: s for s in pod["status"]["containerStatuses"]}
        container = request.query_params.get("container") or (next(iter(statuses)) if len(statuses) == 1 else None)
        if container is None:
            return _status(400, "BadRequest", f"a container name must be specified for pod {name}, "
                                              f"choose one of: {sorted(statuses)}")
        if container not in statuses:
            return _status(400, "BadRequest", f"container {container} is not valid for pod {name}")
        previous = request.query_params.get("previous") == "true"
        if previous and not statuses[container]["restartCount"]:
            return _status(400, "BadRequest", f'previous terminated container "{container}" in pod "{name}" not found')
        siblings = sorted(o["metadata"]["name"] for o in objects() if o["kind"] == "Pod"
                          and o["metadata"].get("ownerReferences") == pod["metadata"].get("ownerReferences"))
        is_api = pod["metadata"].get("labels", {}).get("app") == cluster.API_DEPLOYMENT
        if not is_api or api_logs is None:  # the other workloads run nothing here: they have nothing to say
            return PlainTextResponse("")
        text = pod_logs.serve(api_logs.previous if previous else api_logs.current, siblings.index(name), len(siblings),
                              since_s=_int_param(request, "sinceSeconds"), tail_lines=_int_param(request, "tailLines"),
                              limit_bytes=_int_param(request, "limitBytes"),
                              timestamps=request.query_params.get("timestamps") == "true",
                              started=api_logs.started() or dt.datetime.now(dt.UTC))
        return PlainTextResponse(text)

    writes = ["POST", "PUT", "PATCH", "DELETE"]
    routes = [Route("/version", version), Route("/version/", version),
              Route("/api/v1/namespaces/{namespace}/pods/{name}/log", pod_log, methods=["GET"])]
    for prefix in ("/api/{version}", "/apis/{group}/{version}"):
        for tail in ("/{plural}", "/{plural}/{name}", "/namespaces/{namespace}/{plural}",
                     "/namespaces/{namespace}/{plural}/{name}"):
            routes += [Route(prefix + tail, resources, methods=["GET"]), Route(prefix + tail, read_only, methods=writes)]
    return Starlette(routes=routes)
