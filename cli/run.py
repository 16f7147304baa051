"""`ledger run`: the whole product in the foreground (what `make run` starts).

Starts the local stack if it is not running, makes sure the topics exist, then supervises
the ledger's processes until Ctrl-C or SIGTERM.
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
from dataclasses import replace
from typing import Any

from confluent_kafka.admin import AdminClient

from cli.devstack import Stack
from cli.devstack.regions import RegionsStack
from cli.errors import CliError
from cli.logs import RESET, resolve_format
from cli.notify import partners_configured
from cli.services import add_regions_argument, add_shape_arguments, shape_of
from cli.supervisor import Supervisor
from processors.topics import ensure_topics, ledger_topics
from settings import Settings
from settings.programs import load_programs


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "run",
        help="run the whole ledger in the foreground on the local stack until Ctrl-C",
        description=(
            "Starts Kafka and Redis (`ledger services up`) unless KAFKA_BOOTSTRAP_SERVERS "
            "points elsewhere, ensures the topics, then runs and supervises the ledger's "
            "processes, restarting any that dies. Ctrl-C stops them cleanly; the stack keeps "
            "running (`ledger services down` stops it)."
        ),
    )
    add_shape_arguments(parser)
    parser.add_argument(
        "--region",
        help="run this region's core, mirror, auditor and gateway on its cluster of the local "
        "regions stack (started with --regions, or LEDGER_REGIONS, when none runs)",
    )
    add_regions_argument(parser)
    parser.set_defaults(handler=_run)


# Which principal of the access file each process runs as on a secure stack.
PRINCIPAL_OF = {
    "core": "core",
    "mirror": "mirror",
    "auditor": "auditor",
    "gateway": "gateway",
    "notify": "notifier",
    "qualifying_points": "extensions",
    "relay": "core",
}


def ledger_processes(instance: str) -> dict[str, list[str]]:
    """The processes of a complete ledger, by name: argv of `ledger` for each."""
    return {
        "core": ["core", "--instance-id", f"{instance}-core"],
        "mirror": ["mirror", "--instance-id", f"{instance}-mirror"],
        "auditor": ["auditor"],
        "gateway": ["gateway"],
    }


def _run(args: argparse.Namespace, settings: Settings) -> int:
    env = dict(os.environ)
    instance = socket.gethostname()
    region = args.region or settings.region
    if region:
        if args.secure or args.brokers > 1:
            raise CliError("--region runs on the plaintext regions stack (one broker each)")
        instance = f"{instance}-{region}"
        if "KAFKA_BOOTSTRAP_SERVERS" not in os.environ:
            settings = _region_of_local_stack(args, settings, region, env)
        else:
            env["LEDGER_REGION"] = region
            # The topics ensured below are the region's (its outbox and directory too).
            settings = replace(settings, region=region)
            settings.region_names  # noqa: B018 - checks the region is one of LEDGER_REGIONS
    children = ledger_processes(instance)
    if region:
        children["relay"] = ["relay", "--instance-id", f"{instance}-relay"]
    if partners_configured(settings):
        children["notify"] = ["notify", "run"]
    if settings.extensions:
        children[settings.extensions] = ["extension", "run", settings.extensions]
    child_env: dict[str, dict[str, str]] = {}
    if "KAFKA_BOOTSTRAP_SERVERS" not in env:
        stack = Stack(settings, shape_of(args))
        for service in stack.up():
            print(f"[run] {service.describe()}")
        if stack.shape.secure:
            # Each process runs as its own principal: the broker and Redis refuse it anything
            # the access file does not grant.
            child_env = {name: stack.environment(PRINCIPAL_OF[name]) for name in children}
            gateway_tls = stack.gateway_tls_environment()
            child_env["gateway"].update(gateway_tls)
            print(f"[run] HTTPS with the local CA: curl --cacert {stack.authority.ca_certificate}")
            settings = replace(
                stack.settings_for("admin"),
                gateway_tls_cert_file=gateway_tls["LEDGER_GATEWAY_TLS_CERT"],
            )
        else:
            env.update(stack.environment())
    report = ensure_topics(AdminClient(settings.kafka_config()), ledger_topics(settings))
    print(f"[run] topics ready under {settings.topic_prefix!r} ({len(report.created)} created)")
    print(f"[run] Kafka {settings.kafka_bootstrap_servers}")
    print(f"[run] running {', '.join(children)}; Ctrl-C stops them")
    readable = resolve_format(settings.log_format, sys.stdout)
    if readable != "json":
        # The children write to a pipe, where `auto` would mean JSON: ask for what this
        # terminal shows.
        env["LEDGER_LOG_FORMAT"] = readable
        print(banner(settings, colour=readable == "color"), flush=True)
    else:
        scheme = "https" if settings.gateway_tls_cert_file else "http"
        print(
            f"[run] HTTP API on {scheme}://{settings.gateway_host}:{settings.gateway_port} "
            "(docs: /docs)"
        )
    return Supervisor(children, env, child_env, colour=readable == "color").run()


def _region_of_local_stack(
    args: argparse.Namespace, settings: Settings, region: str, env: dict[str, str]
) -> Settings:
    """Point `env` at `region` of the local regions stack (starting it if none runs)."""
    stack = RegionsStack.running(settings)
    if stack is None:
        names = args.regions or list(settings.region_names)
        if not names:
            raise CliError(
                f"no regions stack runs: `ledger run --region {region} --regions eu,us` "
                "starts one (or set LEDGER_REGIONS)"
            )
        stack = RegionsStack(settings, names)
        for service in stack.up():
            print(f"[run] {service.describe()}")
    env.update(stack.environment(region))
    print(f"[run] region {region} of {', '.join(stack.names)}")
    return stack.settings_for(region)


def banner(settings: Settings, colour: bool) -> str:
    """Where to go next, for a person at a terminal: the URLs and the first key's command."""
    scheme = "https" if settings.gateway_tls_cert_file else "http"
    url = f"{scheme}://{settings.gateway_host}:{settings.gateway_port}"
    program = next(iter(load_programs(settings.programs_config)), "PROGRAM")
    bold = "\x1b[1m" if colour else ""
    reset = RESET if colour else ""
    rows = (
        ("API", url),
        ("API docs", f"{url}/docs"),
        ("Dashboard", f"{url}/dashboard"),
        ("First key", f"ledger keys create --program {program} --scopes admin --label me"),
        ("Stop", "Ctrl-C (Kafka and Redis keep running: ledger services down)"),
    )
    lines = [f"{bold}Reward ledger{reset}"] + [f"  {name:<10} {value}" for name, value in rows]
    return "\n".join(lines)
