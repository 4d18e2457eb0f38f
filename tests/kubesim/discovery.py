"""Discovery documents (legacy and aggregated), /version and the minimal OpenAPI v3 helm needs."""

import time

from .resources import GROUP_VERSIONS, RESOURCES, VERBS

AGGREGATED_CT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SUB_VERBS = {"status": ["get", "patch", "update"], "scale": ["get", "patch", "update"],
             "proxy": ["create", "delete", "get", "patch", "update"]}


def version_doc(kube_version):
    major, minor = kube_version.lstrip("v").split(".")[:2]
    return {"major": major, "minor": minor, "gitVersion": "v" + kube_version.lstrip("v"),
            "gitCommit": "0000000000000000000000000000000000000000", "gitTreeState": "clean",
            "buildDate": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(0)), "goVersion": "go1.22.5",
            "compiler": "gc", "platform": "linux/amd64"}


def _subresources(res):
    subs = (["status"] if res.status else []) + list(res.subresources)
    return subs


def resource_list(group, version):
    rs = [r for r in RESOURCES if r.group == group and r.version == version]
    out = []
    for r in rs:
        out.append({"name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
                    "kind": r.kind, "verbs": VERBS, **({"shortNames": list(r.short_names)}
                                                       if r.short_names else {})})
        for sub in _subresources(r):
            kind = "Scale" if sub == "scale" else ("PodProxyOptions" if sub == "proxy" else r.kind)
            out.append({"name": f"{r.plural}/{sub}", "singularName": "", "namespaced": r.namespaced,
                        "kind": kind, "verbs": SUB_VERBS[sub],
                        **({"group": "autoscaling", "version": "v1"} if sub == "scale" else {})})
    return {"kind": "APIResourceList", "apiVersion": "v1",
            "groupVersion": f"{group}/{version}" if group else version, "resources": out}


def api_versions(server_address):
    return {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs":
            [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}]}


def _group_doc(group):
    versions = [{"groupVersion": f"{g}/{v}", "version": v} for g, v in GROUP_VERSIONS if g == group]
    return {"name": group, "versions": versions, "preferredVersion": versions[0]}


def api_group(group):
    doc = _group_doc(group)
    return {"kind": "APIGroup", "apiVersion": "v1", **doc}


def api_group_list():
    groups = []
    for g, _ in GROUP_VERSIONS:
        if g and g not in groups:
            groups.append(g)
    return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [_group_doc(g) for g in groups]}


def aggregated(core):
    """APIGroupDiscoveryList for /api (core=True) or /apis."""
    items = []
    groups = []
    for g, _ in GROUP_VERSIONS:
        if (g == "") == core and g not in groups:
            groups.append(g)
    for g in groups:
        versions = []
        for gg, v in GROUP_VERSIONS:
            if gg != g:
                continue
            res_docs = []
            for r in RESOURCES:
                if r.group != g or r.version != v:
                    continue
                doc = {"resource": r.plural, "responseKind": {"group": g, "version": v, "kind": r.kind},
                       "scope": "Namespaced" if r.namespaced else "Cluster",
                       "singularResource": r.singular, "verbs": VERBS}
                if r.short_names:
                    doc["shortNames"] = list(r.short_names)
                subs = []
                for sub in _subresources(r):
                    kind = {"scale": "Scale", "proxy": "PodProxyOptions"}.get(sub, r.kind)
                    rk_group = "autoscaling" if sub == "scale" else g
                    subs.append({"subresource": sub, "responseKind": {"group": rk_group, "version":
                                 "v1" if sub in ("scale", "proxy") else v, "kind": kind},
                                 "verbs": SUB_VERBS[sub]})
                if subs:
                    doc["subresources"] = subs
                res_docs.append(doc)
            versions.append({"version": v, "resources": res_docs, "freshness": "Current"})
        items.append({"metadata": {"name": g}, "versions": versions})
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {},
            "items": items}


def openapi_root():
    paths = {}
    for g, v in GROUP_VERSIONS:
        key = f"apis/{g}/{v}" if g else f"api/{v}"
        paths[key] = {"serverRelativeURL": f"/openapi/v3/{key}"}
    return {"paths": paths}


def openapi_group_version(key):
    """The per-group-version document: one path per kind that advertises fieldValidation."""
    for g, v in GROUP_VERSIONS:
        if key == (f"apis/{g}/{v}" if g else f"api/{v}"):
            break
    else:
        return None
    paths = {}
    for r in RESOURCES:
        if r.group != g or r.version != v:
            continue
        base = f"/{key}/namespaces/{{namespace}}/{r.plural}/{{name}}" if r.namespaced \
            else f"/{key}/{r.plural}/{{name}}"
        gvk = {"group": g, "version": v, "kind": r.kind}
        params = [{"name": "fieldValidation", "in": "query", "schema": {"type": "string"}},
                  {"name": "fieldManager", "in": "query", "schema": {"type": "string"}}]
        paths[base] = {"patch": {"x-kubernetes-group-version-kind": gvk, "parameters": params},
                       "put": {"x-kubernetes-group-version-kind": gvk, "parameters": params}}
    return {"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "kubesim"}, "paths": paths,
            "components": {"schemas": {}}}
