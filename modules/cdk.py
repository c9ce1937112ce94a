"""The one module that imports the CDK toolkit and its AWS provider.

Every other module imports `aws`, `Construct` and the cdktf names from here. The toolkit is chosen
here and nowhere else, by the environment variable ORCHESTRA_CDK_TOOLKIT:

  cdktf (default)  CDK for Terraform 0.21 + cdktf-cdktf-provider-aws (hashicorp/aws 6.25, frozen:
                   HashiCorp archived CDK for Terraform on 2025-12-10)
  cdktn            CDK Terrain, its maintained continuation + cdktn-provider-aws (the `cdktn`
                   dependency group); a rename with the same module layout, so the stacks are
                   written the same way and the synthesized JSON differs only in the provider's
                   version (CI compares every stack: `./noxw -s toolkits`)

Importing the provider takes ~14 s and ~0.6 GB with cdktf (~5 s with cdktn): import this module
once per process.
"""

import os
import sys
from typing import TYPE_CHECKING

from constructs import Construct, IConstruct

TOOLKIT_VARIABLE = "ORCHESTRA_CDK_TOOLKIT"
TOOLKITS = ("cdktf", "cdktn")
TOOLKIT = os.environ.get(TOOLKIT_VARIABLE, "") or "cdktf"
if TOOLKIT not in TOOLKITS:
    sys.exit(f"error: {TOOLKIT_VARIABLE}={TOOLKIT!r}: expected one of {', '.join(TOOLKITS)}")

try:
    # Type checking reads cdktf: the layouts are the same, and the toolkits CI session proves it.
    if TYPE_CHECKING or TOOLKIT == "cdktf":
        import cdktf as toolkit
        import cdktf_cdktf_provider_aws as aws
    else:
        import cdktn as toolkit
        import cdktn_provider_aws as aws
except ModuleNotFoundError as missing:
    group = "infra" if TOOLKIT == "cdktf" else "cdktn"
    sys.exit(
        f"error: {TOOLKIT_VARIABLE}={TOOLKIT}: {missing.name} is not installed here; it is in the "
        f"`{group}` dependency group (`./noxw -s synth` installs the group the variable names)"
    )

App = toolkit.App
Aspects = toolkit.Aspects
AssetType = toolkit.AssetType
Fn = toolkit.Fn
IAspect = toolkit.IAspect
LocalBackend = toolkit.LocalBackend
S3Backend = toolkit.S3Backend
TerraformAsset = toolkit.TerraformAsset
TerraformOutput = toolkit.TerraformOutput
TerraformResource = toolkit.TerraformResource
TerraformStack = toolkit.TerraformStack
Testing = toolkit.Testing
Token = toolkit.Token

__all__ = [
    "TOOLKIT",
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
