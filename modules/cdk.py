"""The one module that imports CDK for Terraform and its AWS provider.

Every other module imports `aws`, `Construct` and the cdktf names from here, so that moving to CDK
Terrain (`cdktn` + `cdktn-provider-aws`, the maintained fork with the same layout) changes this
file only. Importing the provider takes ~14 s and ~0.6 GB: import this module once per process.
"""

import cdktf_cdktf_provider_aws as aws
from cdktf import (
    App,
    Aspects,
    AssetType,
    Fn,
    IAspect,
    LocalBackend,
    S3Backend,
    TerraformAsset,
    TerraformOutput,
    TerraformResource,
    TerraformStack,
    Testing,
    Token,
)
from constructs import Construct, IConstruct

__all__ = [
    "App",
    "Aspects",
    "AssetType",
    "Construct",
    "Fn",
    "IAspect",
    "IConstruct",
    "LocalBackend",
    "S3Backend",
    "TerraformAsset",
    "TerraformOutput",
    "TerraformResource",
    "TerraformStack",
    "Testing",
    "Token",
    "aws",
]
