# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
"""Throughput of the _tableau_xml logic: validate, render (validates too), parse, semantic diff.

Run from the repository root:  .venv/bin/python benchmarks/bench_xml.py [--configs 1000] [--repeat 5]
Prints the best of --repeat runs for each measurement; not a test, nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import random
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / ".collections"))

from ansible_collections.tabops.redshift_oauth.plugins.module_utils import _tableau_xml as tx  # noqa: E402


def make_configs(count, seed=1):
    """Realistic, varied configs: every preset, fixed and dynamic ports, public and confidential clients."""
    rng = random.Random(seed)
    configs = []
    for index in range(count):
        preset = ("okta", "entra", "ping", "keycloak", "generic")[index % 5]
        config = {"id": f"custom_redshift_{index:05d}", "label": f"Redshift {preset} {index}", "idp": preset}
        config["client_id_desktop"] = f"client-{rng.getrandbits(64):016x}"
        if rng.random() < 0.5:
            config["client_secret_desktop"] = f"secret-{rng.getrandbits(128):032x}"
        if rng.random() < 0.6:
            config["redirect_ports"] = rng.sample(range(50000, 60000), rng.randint(1, 4))
        if preset in ("okta", "ping", "keycloak"):
            config["idp_base_url"] = f"idp{index}.example.com"
        if preset == "keycloak":
            config["realm"] = "analytics"
        if preset == "entra":
            config["tenant"] = f"tenant{index}.onmicrosoft.com"
        if preset == "generic":
            config["auth_uri"] = f"https://idp{index}.example.com/oauth2/authorize"
            config["token_uri"] = f"https://idp{index}.example.com/oauth2/token"
        configs.append(config)
    return configs


def best_of(repeat, function):
    timings = []
    for _round in range(repeat):
        start = time.perf_counter()
        function()
        timings.append(time.perf_counter() - start)
    return min(timings)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--configs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    configs = make_configs(args.configs)
    documents = [tx.render_oauth_config(config) for config in configs]
    drifted = [document.replace("<value>true</value>", "<value>false</value>", 1) for document in documents]
    tdc_specs = [
        {"customizations": {"CAP_OAUTH_FEDERATE_ACCESS_TOKEN": "yes", f"CAP_X_{i}": str(i)}}
        for i in range(args.configs)
    ]
    tdc_documents = [tx.render_tdc(spec) for spec in tdc_specs]
    count = len(configs)
    assert all(tx.validate_oauth_config(config) == [] for config in configs)

    print(f"python {platform.python_version()} on {platform.machine()}, {count} OAuth configs, best of {args.repeat}")
    print(f"average rendered size: {sum(len(d) for d in documents) // count} bytes")

    def report(label, seconds, unit="documents"):
        print(f"{label:<52} {seconds * 1000:9.1f} ms  {count / seconds:11,.0f} {unit}/s")

    report(
        "validate_oauth_config (1,000 configs)",
        best_of(args.repeat, lambda: [tx.validate_oauth_config(c) for c in configs]),
        "configs",
    )
    report(
        "render_oauth_config (normalize + validate + render)",
        best_of(args.repeat, lambda: [tx.render_oauth_config(c) for c in configs]),
    )
    report("render_tdc", best_of(args.repeat, lambda: [tx.render_tdc(s) for s in tdc_specs]))
    for backend in ("defusedxml", "expat"):
        if backend == "defusedxml" and not tx.HAS_DEFUSEDXML:
            continue
        original = tx._safe_parse.HAS_DEFUSEDXML  # the parser reads the flag from its own module
        tx._safe_parse.HAS_DEFUSEDXML = backend == "defusedxml"
        try:
            report(
                f"parse_oauth_config [{backend}]",
                best_of(args.repeat, lambda: [tx.parse_oauth_config(d) for d in documents]),
            )
            report(
                f"validate_document [{backend}]",
                best_of(args.repeat, lambda: [tx.validate_document(d) for d in documents]),
            )
            report(
                f"diff_documents, 1 drifted value [{backend}]",
                best_of(args.repeat, lambda: [tx.diff_documents(a, b) for a, b in zip(documents, drifted)]),
                "diffs",
            )
            report(
                f"diff_documents, TDC [{backend}]",
                best_of(args.repeat, lambda: [tx.diff_documents(a, a) for a in tdc_documents]),
                "diffs",
            )
        finally:
            tx._safe_parse.HAS_DEFUSEDXML = original
    try:
        import xmlschema
    except ImportError:
        return
    schema = xmlschema.XMLSchema(str(REPO_ROOT / "tests/unit/fixtures/connector-plugin-sdk/oauth_config.xsd"))
    sample = documents[: min(count, 200)]
    seconds = best_of(1, lambda: [schema.validate(d) for d in sample])
    label = f"(reference) xmlschema XSD validation, {len(sample)} documents"
    print(f"{label:<52} {seconds * 1000:9.1f} ms  {len(sample) / seconds:11,.0f} documents/s")


if __name__ == "__main__":
    main()
