"""The Kubernetes manifests, validated against the Kubernetes schemas (offline), so they never
rot; and the choices the README promises: probes, drain time, resources, disruption budget."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from quart_llm.config.paths import ROOT_PATH

KUBERNETES = ROOT_PATH / "deploy" / "kubernetes"
VERSION = "1.31.0"
"""The oldest Kubernetes still in common support when these were written."""


def manifests() -> list[Path]:
    return sorted(path for path in KUBERNETES.glob("*.yaml") if path.name != "kustomization.yaml")


def documents(path: Path) -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def by_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for path in manifests() for doc in documents(path) if doc["kind"] == kind]
    return found


@pytest.mark.parametrize("path", manifests(), ids=lambda path: path.name)
def test_every_manifest_is_valid_for_kubernetes(path: Path) -> None:
    for document in documents(path):
        kubernetes_validate.validate(document, VERSION, strict=True)


def test_kustomization_names_every_manifest() -> None:
    kustomization = yaml.safe_load((KUBERNETES / "kustomization.yaml").read_text())
    assert set(kustomization["resources"]) == {path.name for path in manifests()}


def test_the_deployment_probes_drains_and_is_sized() -> None:
    spec = by_kind("Deployment")["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    assert container["livenessProbe"]["httpGet"]["path"] == "/v1/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v1/health/ready"
    shutdown_grace = 30
    pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][1])
    assert spec["terminationGracePeriodSeconds"] > shutdown_grace + pre_stop
    assert container["resources"]["requests"]["memory"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"] for mount in container["volumeMounts"]}
    assert "/app/data" in mounts, "usage records spill somewhere writable"
    refs = {
        ref.get("configMapRef", ref.get("secretRef", {}))["name"] for ref in container["envFrom"]
    }
    assert refs == {by_kind("ConfigMap")["metadata"]["name"], by_kind("Secret")["metadata"]["name"]}


def test_replicas_share_redis_and_postgresql() -> None:
    assert by_kind("ConfigMap")["data"]["QUART_LLM_REDIS_URL"].startswith("redis://")
    assert by_kind("Secret")["stringData"]["QUART_LLM_DATABASE_URL"].startswith("postgresql://")
    assert by_kind("PodDisruptionBudget")["spec"]["minAvailable"] >= 1
    assert by_kind("HorizontalPodAutoscaler")["spec"]["minReplicas"] >= 2
