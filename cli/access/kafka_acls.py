"""Make the broker's ACLs match the access file, for one deployment.

The plan compares what the broker holds with what the file grants: grants missing are added;
grants of the file's principals on this deployment's topics (or on the groups and
transactional ids the file names) that the file no longer lists are removed. Grants outside
that scope (another deployment's prefix on a shared cluster, principals the file does not
know) are left alone and counted, so one deployment's apply never undoes another's.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from confluent_kafka import KafkaException
from confluent_kafka.admin import AdminClient

# confluent-kafka re-exports these from confluent_kafka.admin without declaring it to type
# checkers; the defining modules are the typed names.
from confluent_kafka.admin._acl import (
    AclBinding,
    AclBindingFilter,
    AclOperation,
    AclPermissionType,
)
from confluent_kafka.admin._resource import ResourcePatternType, ResourceType

from cli.access.errors import AccessError
from cli.access.policy import AccessPolicy, KafkaGrant, Operation, ResourceKind, kafka_grants
from settings import Settings

ADMIN_TIMEOUT_S = 30.0
AWAIT_POLL_S = 0.2
RESOURCE_TYPES = {
    ResourceKind.TOPIC: ResourceType.TOPIC,
    ResourceKind.GROUP: ResourceType.GROUP,
    ResourceKind.TRANSACTIONAL_ID: ResourceType.TRANSACTIONAL_ID,
}
OPERATIONS = {
    Operation.READ: AclOperation.READ,
    Operation.WRITE: AclOperation.WRITE,
    Operation.DESCRIBE: AclOperation.DESCRIBE,
    Operation.DELETE: AclOperation.DELETE,
    Operation.CREATE: AclOperation.CREATE,
}


@dataclass(frozen=True)
class KafkaAclPlan:
    add: list[KafkaGrant]
    remove: list[KafkaGrant]
    unchanged: int
    outside_scope: int


def plan(admin: AdminClient, policy: AccessPolicy, settings: Settings) -> KafkaAclPlan:
    desired = kafka_grants(policy, settings)
    present = set()
    outside = 0
    for binding in _describe_all(admin):
        grant = _as_grant(binding, policy)
        if grant is not None and _in_scope(grant, desired, settings):
            present.add(grant)
        else:
            outside += 1
    return KafkaAclPlan(
        add=sorted(desired - present),
        remove=sorted(present - desired),
        unchanged=len(desired & present),
        outside_scope=outside,
    )


def apply(admin: AdminClient, kafka_plan: KafkaAclPlan) -> None:
    if kafka_plan.add:
        created = admin.create_acls(
            [_binding(g) for g in kafka_plan.add], request_timeout=ADMIN_TIMEOUT_S
        )
        _raise_first(created.values(), "creating ACLs")
    if kafka_plan.remove:
        deleted = admin.delete_acls(
            [_filter(g) for g in kafka_plan.remove], request_timeout=ADMIN_TIMEOUT_S
        )
        _raise_first(deleted.values(), "deleting ACLs")
    if kafka_plan.add or kafka_plan.remove:
        _await_effect(admin, kafka_plan)


def _await_effect(admin: AdminClient, kafka_plan: KafkaAclPlan) -> None:
    """Return once a broker's authorizer holds the change.

    The controller commits ACLs to the metadata log and each broker's authorizer applies them
    a moment later; a client that connects in between is refused. Describing ACLs answers
    from a broker's authorizer, so `apply` returns when the grants are in force.
    """
    added, removed = set(kafka_plan.add), set(kafka_plan.remove)
    deadline = time.monotonic() + ADMIN_TIMEOUT_S
    while time.monotonic() < deadline:
        present = {
            grant
            for binding in _describe_all(admin)
            if (grant := _as_grant_by_name(binding)) is not None
        }
        if added <= present and not removed & present:
            return
        time.sleep(AWAIT_POLL_S)
    raise AccessError(f"the broker did not show the new ACLs within {ADMIN_TIMEOUT_S:.0f} s")


def _describe_all(admin: AdminClient) -> list[AclBinding]:
    every = AclBindingFilter(
        ResourceType.ANY,
        None,  # type: ignore[arg-type]  # None matches any name; the stub says str
        ResourcePatternType.ANY,
        None,  # type: ignore[arg-type]
        None,  # type: ignore[arg-type]
        AclOperation.ANY,
        AclPermissionType.ANY,
    )
    try:
        return list(admin.describe_acls(every, request_timeout=ADMIN_TIMEOUT_S).result())
    except KafkaException as error:
        raise AccessError(
            f"the broker refused to list its ACLs ({error.args[0].str()}): apply runs as a "
            "super user (the admin principal) on a broker with an authorizer"
        ) from None


def _as_grant(binding: AclBinding, policy: AccessPolicy) -> KafkaGrant | None:
    """The binding as one of ours, or None when it is something this file cannot express."""
    grant = _as_grant_by_name(binding)
    return grant if grant is not None and grant.principal in policy.principals else None


def _as_grant_by_name(binding: AclBinding) -> KafkaGrant | None:
    principal = binding.principal.removeprefix("User:")
    kinds = {v: k for k, v in RESOURCE_TYPES.items()}
    operations = {v: k for k, v in OPERATIONS.items()}
    if (
        binding.host != "*"
        or binding.permission_type != AclPermissionType.ALLOW
        or binding.restype not in kinds
        or binding.operation not in operations
        or binding.resource_pattern_type
        not in (ResourcePatternType.LITERAL, ResourcePatternType.PREFIXED)
    ):
        return None
    return KafkaGrant(
        principal,
        kinds[binding.restype],
        binding.name,
        binding.resource_pattern_type == ResourcePatternType.PREFIXED,
        operations[binding.operation],
    )


def _in_scope(grant: KafkaGrant, desired: set[KafkaGrant], settings: Settings) -> bool:
    if grant.kind is ResourceKind.TOPIC:
        return grant.name.startswith(settings.topic_prefix)
    return any(
        (grant.kind, grant.name, grant.prefixed) == (d.kind, d.name, d.prefixed) for d in desired
    )


def _binding(grant: KafkaGrant) -> AclBinding:
    return AclBinding(
        RESOURCE_TYPES[grant.kind],
        grant.name,
        ResourcePatternType.PREFIXED if grant.prefixed else ResourcePatternType.LITERAL,
        f"User:{grant.principal}",
        "*",
        OPERATIONS[grant.operation],
        AclPermissionType.ALLOW,
    )


def _filter(grant: KafkaGrant) -> AclBindingFilter:
    binding = _binding(grant)
    return AclBindingFilter(
        binding.restype,
        binding.name,
        binding.resource_pattern_type,
        binding.principal,
        binding.host,
        binding.operation,
        binding.permission_type,
    )


def _raise_first(futures: Iterable[Future[Any]], doing: str) -> None:
    for future in futures:
        try:
            future.result()
        except KafkaException as error:
            raise AccessError(f"the broker refused {doing}: {error.args[0].str()}") from None
