# Copyright: tabops maintainers
# SPDX-License-Identifier: MIT
# Copyright: tabops contributors
# MIT License (see LICENSE)
"""Create or update an IAM OIDC identity provider; prints {changed, arn, before, after} as JSON.

amazon.aws has no module for OIDC providers and roles inside a collection
cannot carry modules, so the redshift_iam role runs this on the controller
with the playbook's Python (boto3 needed). The issuer URL was validated by the
oidc_provider_arn filter before this runs. Credentials come from boto3's usual
chain (environment, profile); nothing secret is printed.
"""

import argparse
import json
import re
import sys


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--client-id", action="append", default=[], dest="client_ids")
    parser.add_argument("--thumbprint", action="append", default=[], dest="thumbprints")
    parser.add_argument("--endpoint-url", default="")
    parser.add_argument("--profile", default="")
    parser.add_argument("--region", default="")
    parser.add_argument("--check", action="store_true", help="report what would change, change nothing")
    args = parser.parse_args(argv)

    if not args.url.startswith("https://"):
        return fail("url must start with https://")
    key = args.url[len("https://") :]
    wanted_ids = sorted(set(args.client_ids))
    wanted_prints = sorted({t.lower() for t in args.thumbprints})
    if not wanted_ids:
        return fail("give at least one --client-id")
    for thumbprint in wanted_prints:
        if not re.fullmatch(r"[0-9a-f]{40}", thumbprint):
            return fail("thumbprint %r is not 40 hexadecimal digits" % thumbprint)
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        return fail("boto3 is needed on the controller for redshift_iam_apply (pip install boto3)")

    try:
        session = boto3.session.Session(profile_name=args.profile or None, region_name=args.region or None)
        client = session.client("iam", endpoint_url=args.endpoint_url or None)
        arn = None
        for entry in client.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            if entry["Arn"].split(":oidc-provider/", 1)[-1] == key:
                arn = entry["Arn"]
        before = None
        if arn:
            current = client.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
            before = {
                "url": args.url,
                "client_ids": sorted(current.get("ClientIDList", [])),
                "thumbprints": sorted(t.lower() for t in current.get("ThumbprintList", [])),
            }
        after = {
            "url": args.url,
            "client_ids": wanted_ids,
            "thumbprints": wanted_prints or (before["thumbprints"] if before else []),
        }
        changed = before != after
        if changed and not args.check:
            if not arn:
                kwargs = {"Url": args.url, "ClientIDList": wanted_ids}
                if wanted_prints:
                    kwargs["ThumbprintList"] = wanted_prints
                arn = client.create_open_id_connect_provider(**kwargs)["OpenIDConnectProviderArn"]
            else:
                for client_id in sorted(set(wanted_ids) - set(before["client_ids"])):
                    client.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID=client_id)
                for client_id in sorted(set(before["client_ids"]) - set(wanted_ids)):
                    client.remove_client_id_from_open_id_connect_provider(
                        OpenIDConnectProviderArn=arn, ClientID=client_id
                    )
                if wanted_prints and wanted_prints != before["thumbprints"]:
                    client.update_open_id_connect_provider_thumbprint(
                        OpenIDConnectProviderArn=arn, ThumbprintList=wanted_prints
                    )
    except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError) as exc:
        return fail("IAM OIDC provider %s: %s" % (key, exc))
    json.dump(
        {"changed": changed, "arn": arn or "", "before": before or {}, "after": after}, sys.stdout, sort_keys=True
    )
    sys.stdout.write("\n")
    return 0


def fail(message):
    json.dump({"failed": True, "msg": message}, sys.stdout)
    sys.stdout.write("\n")
    return 1


if __name__ == "__main__":
    sys.exit(main())
