"""S3: the stack's buckets in moto's server, and the objects the stack uploads (aws_s3_object).

Bucket settings (versioning, lifecycle, encryption, policies, public access blocks, logging,
ownership) are accepted and not applied: moto does not enforce them and nothing local depends on
them. Objects are uploaded as Terraform would: from `source` (a path relative to the stack
folder: cdktf assets), `content` or `content_base64`, with their content type, cache control,
encoding and metadata; values are localized (a generated config.js carries local URLs).
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from localcloud.plan import Plan, PlanError

TYPES = ("aws_s3_bucket", "aws_s3_object")
_OBJECT_HEADERS = {
    "content_type": "ContentType",
    "cache_control": "CacheControl",
    "content_encoding": "ContentEncoding",
    "content_disposition": "ContentDisposition",
    "content_language": "ContentLanguage",
}


class Buckets:
    def __init__(self, client: Any) -> None:
        self.client = client
        self.objects = 0

    def create(self, plan: Plan) -> None:
        for resource in plan.of_type("aws_s3_bucket"):
            bucket = str(plan.attribute(resource.address, "bucket"))
            kwargs: dict[str, Any] = {"Bucket": bucket}
            if plan.region != "us-east-1":
                kwargs["CreateBucketConfiguration"] = {"LocationConstraint": plan.region}
            self.client.create_bucket(**kwargs)
        for resource in plan.of_type("aws_s3_object"):
            self.client.put_object(**self.put_request(plan, resource.address))
            self.objects += 1

    @staticmethod
    def put_request(plan: Plan, address: str) -> dict[str, Any]:
        config = plan.resolved(address)
        request: dict[str, Any] = {"Bucket": config["bucket"], "Key": str(config["key"]).lstrip("/")}
        if "source" in config:
            path = Path(config["source"])
            path = path if path.is_absolute() else plan.stack_dir / path
            if not path.is_file():
                raise PlanError(
                    f"{address}: source {config['source']} not found under {plan.stack_dir} "
                    "(build the dashboard with `./noxw -s dashboard`, then synthesize again)"
                )
            request["Body"] = path.read_bytes()
        elif "content" in config:
            request["Body"] = str(plan.localize(config["content"])).encode()
        elif "content_base64" in config:
            request["Body"] = base64.b64decode(config["content_base64"])
        else:
            raise PlanError(f"{address}: an object needs source, content or content_base64")
        for key, parameter in _OBJECT_HEADERS.items():
            if config.get(key):
                request[parameter] = str(config[key])
        if config.get("metadata"):
            request["Metadata"] = {str(k): str(v) for k, v in config["metadata"].items()}
        return request
