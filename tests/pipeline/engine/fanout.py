"""A four-stage fan-out pipeline built so that each "why not promoted?" reason shows somewhere.

dev takes freight straight from the warehouse; qa, staging and prod each take it from dev:
qa has no promotion policy and a failing step, staging's policy has auto-promotion off, a hold
set by hand and a slow step, prod soaks for an hour and is auto-promoted.
"""

from __future__ import annotations

from pathlib import Path


def fan_out_pipeline(repo: Path) -> str:
    """The configuration text."""
    return f"""\
apiVersion: kargo.akuity.io/v1alpha1
kind: Project
metadata: {{name: shop}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: ProjectConfig
metadata: {{name: shop}}
spec:
  promotionPolicies:
  - stage: staging
    autoPromotionEnabled: false
  - stage: prod
    autoPromotionEnabled: true
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Warehouse
metadata: {{name: app}}
spec:
  interval: 1h
  subscriptions:
  - git: {{repoURL: {repo}, branch: main}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: dev}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{direct: true}}
  promotionTemplate:
    spec:
      steps:
      - uses: noop
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: qa}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{stages: [dev]}}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        config: {{command: "echo broken; exit 3"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata:
  name: staging
  annotations: {{kargo.akuity.io/auto-promotion-hold: "paused by hand"}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources: {{stages: [dev]}}
  promotionTemplate:
    spec:
      steps:
      - uses: shell
        config: {{command: "echo starting; sleep 3; echo finished"}}
---
apiVersion: kargo.akuity.io/v1alpha1
kind: Stage
metadata: {{name: prod}}
spec:
  requestedFreight:
  - origin: {{kind: Warehouse, name: app}}
    sources:
      stages: [dev]
      requiredSoakTime: 1h
  promotionTemplate:
    spec:
      steps:
      - uses: noop
"""
