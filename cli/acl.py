"""`ledger acl show|apply`: the access file, shown resolved or enforced by Kafka and Redis."""

from __future__ import annotations

import argparse
from typing import Any

import redis
from confluent_kafka.admin import AdminClient

from cli.access import kafka_acls, redis_users
from cli.access.policy import AccessPolicy, kafka_grants, load_policy, redis_rules
from settings import Settings


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "acl",
        help="show or apply who may do what on Kafka and Redis (config/access.toml)",
        description=(
            "The access file (LEDGER_ACCESS_CONFIG) names each principal and what it may do. "
            "`apply` runs as the cluster's admin principal (KAFKA_CONFIG_SASL_USERNAME and a "
            "Redis admin user in REDIS_URL)."
        ),
    )
    actions = parser.add_subparsers(title="actions", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="print every grant, resolved for these settings")
    show.add_argument("--file", help="access file (default LEDGER_ACCESS_CONFIG)")
    show.set_defaults(handler=_show)
    apply = actions.add_parser(
        "apply", help="make the broker's ACLs and Redis's users match the file"
    )
    apply.add_argument("--file", help="access file (default LEDGER_ACCESS_CONFIG)")
    apply.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")
    target = apply.add_mutually_exclusive_group()
    target.add_argument("--kafka-only", action="store_true", help="leave Redis alone")
    target.add_argument("--redis-only", action="store_true", help="leave Kafka alone")
    apply.set_defaults(handler=_apply)


def _policy(args: argparse.Namespace, settings: Settings) -> AccessPolicy:
    return load_policy(args.file or settings.access_config)


def _show(args: argparse.Namespace, settings: Settings) -> int:
    policy = _policy(args, settings)
    grants = sorted(kafka_grants(policy, settings))
    rules = redis_rules(policy, settings)
    for principal in policy.principals.values():
        print(f"{principal.name}: {principal.about}")
        for grant in grants:
            if grant.principal == principal.name:
                print(f"  kafka  {grant.describe()}")
        if principal.name in rules:
            print(f"  redis  ACL SETUSER {principal.name} {' '.join(rules[principal.name])}")
    return 0


def _apply(args: argparse.Namespace, settings: Settings) -> int:
    policy = _policy(args, settings)
    if not args.redis_only:
        admin = AdminClient(settings.kafka_config())
        plan = kafka_acls.plan(admin, policy, settings)
        for grant in plan.add:
            print(f"kafka  + {grant.describe()}")
        for grant in plan.remove:
            print(f"kafka  - {grant.describe()}")
        print(
            f"kafka  {len(plan.add)} to add, {len(plan.remove)} to remove, {plan.unchanged} "
            f"in place, {plan.outside_scope} outside this deployment left alone"
        )
        if not args.dry_run:
            kafka_acls.apply(admin, plan)
    if not args.kafka_only:
        rules = redis_rules(policy, settings)
        for user, user_rules in rules.items():
            print(f"redis  ACL SETUSER {user} {' '.join(user_rules)}")
        if not args.dry_run:
            client = redis.Redis.from_url(settings.redis_url)
            try:
                redis_users.apply(client, rules)
            finally:
                client.close()
    print("dry run: nothing changed" if args.dry_run else "applied")
    return 0
