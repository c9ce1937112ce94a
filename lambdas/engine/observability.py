"""Powertools Logger and Metrics shared by the handlers (service, namespace and level come from
POWERTOOLS_SERVICE_NAME, POWERTOOLS_METRICS_NAMESPACE and LOG_LEVEL)."""

from __future__ import annotations

import warnings

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()

# Most invocations (a duplicate dispatch, a stream record that changes nothing) emit no metric;
# that is normal here, not worth a warning in every log stream.
warnings.filterwarnings("ignore", message="No application metrics to publish")
