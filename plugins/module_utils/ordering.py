# -*- coding: utf-8 -*-
# Copyright: milvusops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hop 2 in the order Milvus engineers give (pure): which Deployments to pause, which to resume next.

Helm changes every Deployment of a hop at once. Deployments paused before ``helm upgrade`` keep the new
template without rolling it out (helm's three-way merge keeps ``spec.paused``, a field only the live
object has), and are resumed here one at a time: each only once every component before it in the order
is rolled out. What nothing comes before (mixcoord) is not paused: it rolls out with helm's write, as a
resume would let it do only once the next task had started. The streaming node is new in hop 2, so helm
creates it running; it turns ready only after a 2.6 mixcoord is active, and so is awaited right after
mixcoord. The index node, which hop 2 removes, must serve until the proxy runs 2.6: it is kept on 2.5 by
``helm.sh/resource-policy: keep`` (helm reads the live object's annotation before deleting a removed object,
and skips it) and deleted by the wait once every component of the order is rolled out.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.milvusops.cluster.plugins.module_utils.names import CHART_NAME, component_of

# milvus#42492; the Milvus Operator follows the same order.
ROLLOUT_ORDER = ("mixcoord", "streamingnode", "querynode", "datanode", "proxy")
# removed by hop 2, but kept running on 2.5 until the ordered rollout is done, then deleted by the wait
KEPT_UNTIL_ROLLED_OUT = ("indexnode",)
# set on the Deployments this collection paused, with the hop that paused them; removed on resume
PAUSED_ANNOTATION = "milvusops.cluster/paused-for"
# set on the Deployments this collection kept out of helm's removal, with the hop; the wait deletes them
KEPT_ANNOTATION = "milvusops.cluster/kept-until-rolled-out"
HELM_RESOURCE_POLICY = "helm.sh/resource-policy"
READY = "ready"


def is_paused(deployment):
    return bool((deployment.get("spec") or {}).get("paused"))


def paused_by_us(deployment):
    return PAUSED_ANNOTATION in ((deployment.get("metadata") or {}).get("annotations") or {})


def _release_deployments(deployments, release, name):
    """(deployment, component, metadata, annotations) of each of the release's Milvus Deployments."""
    for deployment in deployments or []:
        metadata = deployment.get("metadata") or {}
        if (metadata.get("labels") or {}).get("app.kubernetes.io/instance") != release:
            continue
        component = component_of(deployment, name)
        if component:
            yield deployment, component, metadata, metadata.get("annotations") or {}


def _by_component(entries):
    return sorted(entries, key=lambda entry: (entry["component"], entry["deployment"]))


def paused_deployments(deployments, release, name=CHART_NAME):
    """[{"component", "deployment", "by_us", "hop"}] of the release's paused Milvus Deployments, by component."""
    return _by_component({"component": component, "deployment": metadata.get("name"), "by_us": paused_by_us(deployment),
                          "hop": annotations.get(PAUSED_ANNOTATION)}
                         for deployment, component, metadata, annotations in _release_deployments(deployments, release, name)
                         if is_paused(deployment))


def _manifest_deployments(objects, release, name):
    """_release_deployments() of the Deployments among a manifest's objects (every kind)."""
    return _release_deployments([obj for obj in objects or [] if obj.get("kind") == "Deployment"], release, name)


def _milvus_deployments_among(entries, objects, release, name):
    """[{"component", "deployment"}] of the release's Milvus Deployments in objects that entries (object_diff()
    entries, {"kind", "name"}) name."""
    names = set(entry["name"] for entry in entries or [] if entry.get("kind") == "Deployment")
    return [{"component": component, "deployment": metadata["name"]}
            for _deployment, component, metadata, _annotations in _manifest_deployments(objects, release, name)
            if metadata.get("name") in names]


def components_before(component, order=ROLLOUT_ORDER):
    """The components of the order that roll out before component: the ones ahead of it, or for a component
    outside the order, all of them (to_resume() resumes those last)."""
    order = list(order or ())
    return order[:order.index(component)] if component in order else order


def waits_for_another(component, present, order=ROLLOUT_ORDER):
    """Whether a component has to wait for another one of the release (present: its components) to roll out."""
    return any(other in present for other in components_before(component, order))


def deployments_to_pause(changed, rendered_objects, release, name=CHART_NAME, order=ROLLOUT_ORDER):
    """The Milvus Deployments a hop changes that have to wait for another component, as [{"component",
    "deployment"}] in the order: the ones to pause before helm.

    changed is object_diff()'s "changed" list; rendered_objects the hop's server-side render. Deployments the
    hop adds (the streaming node) do not exist yet and cannot be paused; removed ones are deleted by helm. A
    changed Deployment that nothing comes before (mixcoord) is left to roll out with helm's write: paused, it
    would be resumed at once, only later.
    """
    present = set(component for _deployment, component, _metadata, _annotations
                  in _manifest_deployments(rendered_objects, release, name))
    return sorted((entry for entry in _milvus_deployments_among(changed, rendered_objects, release, name)
                   if waits_for_another(entry["component"], present, order)),
                  key=lambda entry: rollout_position(entry["component"], order))


def deployments_to_keep(removed, live_objects, release, kept_components, name=CHART_NAME):
    """The Milvus Deployments a hop removes that must keep running until its rollout is done, as
    [{"component", "deployment"}]: the ones to mark for keeping before helm.

    removed is object_diff()'s "removed" list; live_objects the release's current manifest.
    """
    return _by_component(entry for entry in _milvus_deployments_among(removed, live_objects, release, name)
                         if entry["component"] in (kept_components or ()))


def kept_deployments(deployments, release, name=CHART_NAME):
    """[{"component", "deployment", "uid", "hop"}] of the release's Milvus Deployments kept by an ordered hop."""
    return _by_component({"component": component, "deployment": metadata.get("name"), "uid": metadata.get("uid"),
                          "hop": annotations[KEPT_ANNOTATION]}
                         for _deployment, component, metadata, annotations in _release_deployments(deployments, release, name)
                         if KEPT_ANNOTATION in annotations and not metadata.get("deletionTimestamp"))


def kept_by_others(deployments, components, release, name=CHART_NAME):
    """[{"component", "deployment"}] of the release's Milvus Deployments of components that carry
    helm.sh/resource-policy=keep without our annotation: helm would leave them when a hop removes them, and
    nothing of ours deletes them."""
    return _by_component({"component": component, "deployment": metadata.get("name")}
                         for _deployment, component, metadata, annotations in _release_deployments(deployments, release, name)
                         if component in (components or ()) and annotations.get(HELM_RESOURCE_POLICY) == "keep"
                         and KEPT_ANNOTATION not in annotations)


def rollout_position(component, order=ROLLOUT_ORDER):
    """Sort key: the components of the order first, in its order, then any other by name."""
    return (order.index(component), "") if component in order else (len(order), component)


def pause_patch(hop_name):
    """The merge patch that pauses a Deployment and says which hop did it."""
    return {"metadata": {"annotations": {PAUSED_ANNOTATION: "hop %s" % hop_name}}, "spec": {"paused": True}}


def resume_patch():
    """The merge patch that resumes a Deployment and removes our note (null deletes a key)."""
    return {"metadata": {"annotations": {PAUSED_ANNOTATION: None}}, "spec": {"paused": None}}


def keep_patch(hop_name):
    """The merge patch that keeps a Deployment through the helm upgrade that removes it, and says which hop."""
    return {"metadata": {"annotations": {HELM_RESOURCE_POLICY: "keep", KEPT_ANNOTATION: "hop %s" % hop_name}}}


def to_resume(order, components, paused):
    """The components to resume now: [] while the next one in the order is still rolling out.

    components: readiness verdict components ({component: {"state", ...}}); paused: the components whose
    Deployment is paused. Walking the order, the first paused component is resumed once every component
    before it is ready; a component of the order the release lacks is skipped (a missing one that is
    expected is the readiness check's business). Paused components outside the order are resumed together
    once the whole order is ready; with an empty order that is at once.
    """
    paused = set(paused or ())
    for component in order or ():
        if component in paused:
            return [component]
        info = components.get(component)
        if info is not None and info.get("state") != READY:
            return []
    return sorted(component for component in paused if component not in (order or ()))


def rolled_out(components, paused, removed):
    """True once nothing is left paused and every component the hop keeps is ready (the removed ones aside)."""
    if paused:
        return False
    return all(info.get("state") == READY for component, info in components.items() if component not in removed)


def to_delete(components, paused, kept, removed):
    """The kept Deployments ([{"component", "deployment", ...}]) to delete now: those of a component the hop
    removes, once rolled_out(); [] before. A kept Deployment of a component the hop does not remove stays."""
    removed = set(removed or ())
    if not rolled_out(components, paused, removed):
        return []
    return [entry for entry in kept or [] if entry["component"] in removed]


def paused_waiting(order, paused, check_mode=False):
    """The 'waiting for' lines of the paused components (what a person watching the rollout needs)."""
    order = list(order or ())
    lines = []
    for component in sorted(paused, key=lambda c: rollout_position(c, tuple(order))):
        if check_mode:
            lines.append("%s: paused (check mode resumes nothing)" % component)
        else:
            before = components_before(component, order)
            lines.append("%s: paused until %s %s rolled out" % (
                component, ", ".join(before) or "the components before it", "is" if len(before) == 1 else "are"))
    return lines


def kept_waiting(kept, check_mode=False):
    """The 'waiting for' lines of the kept Deployments."""
    what = "check mode deletes nothing" if check_mode else "deleted once every other component is rolled out"
    return ["%s: Deployment %s kept on its old version (%s)" % (entry["component"], entry["deployment"], what)
            for entry in kept or []]


def still_paused_message(paused, kept=()):
    """The sentence every failure of an ordered hop ends with, so no cluster is left paused or kept unsaid."""
    waiting = sorted(paused or [], key=lambda entry: rollout_position(entry["component"]))
    parts = []
    if waiting:
        parts.append("Still paused: %s. The next run resumes them in order (%s); to roll them out by hand instead: "
                     "kubectl rollout resume deployment <name>" % (
                         ", ".join("%(deployment)s (%(component)s)" % entry for entry in waiting), ", ".join(ROLLOUT_ORDER)))
    if kept:
        parts.append("%s %s kept on the old version (annotation %s); the next run deletes %s once every component "
                     "runs the new one" % (", ".join("%(deployment)s (%(component)s)" % entry for entry in kept),
                                           "is" if len(kept) == 1 else "are", KEPT_ANNOTATION,
                                           "it" if len(kept) == 1 else "them"))
    return "; ".join(parts)


def ending_with_still_paused(message, paused, kept=()):
    """message, then still_paused_message() as its last sentence when anything is still paused or kept."""
    text = still_paused_message(paused, kept)
    return "%s. %s" % (message, text) if text else message


def timeline(started, resumed_at, ready_at, first_new_pod_at, order=ROLLOUT_ORDER):
    """Per-component seconds since the hop started, and the write-outage window.

    resumed_at/ready_at: {component: epoch seconds} as the wait saw them; first_new_pod_at: when the wait first
    saw a pod of the hop's image running. The outage runs from there to the last component turning ready
    (hop 2: while any component is below 2.6, writes fail).
    """
    def since(value):
        return None if value is None else round(max(value - started, 0.0), 1)

    components = {}
    for component in sorted(set(resumed_at) | set(ready_at), key=lambda c: rollout_position(c, tuple(order))):
        components[component] = {"resumed": since(resumed_at.get(component)), "ready": since(ready_at.get(component))}
    last_ready = max(ready_at.values()) if ready_at else None
    outage = None
    if first_new_pod_at is not None and last_ready is not None:
        outage = round(max(last_ready - first_new_pod_at, 0.0), 1)
    return {"components": components, "new_version_started": since(first_new_pod_at),
            "write_outage_seconds": outage}
