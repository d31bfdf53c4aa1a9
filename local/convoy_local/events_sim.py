"""EventBridge PutEvents as AWS delivers it, inside moto_server.

Why: convoy puts its release events ("Convoy Release Started" / "Convoy Release Finished", source `convoy`) on a
bus that also holds the scheduled rules it releases. moto 5.2.5 hands every put event to every rule of the bus: a
rule without an event pattern (a schedule-only rule) matches everything, and a matching rule whose target moto
cannot deliver to (ECS, Lambda, SNS, ...) raises NotImplementedError, so the whole PutEvents answers HTTP 500. On
AWS a schedule-only rule never receives put events, and a target's delivery never fails the PutEvents call.

moto_server.py calls install(); what changes:
  A rule without an event pattern receives no put event (its schedule is what runs its targets).
  A matching rule delivers to the targets moto implements (SQS, CloudWatch Logs, event buses, archives, API
    destinations); the others are skipped, as AWS would deliver them elsewhere and PutEvents still succeeds.
"""

from typing import Any

from moto.events.models import Rule
from moto.utilities.arns import parse_arn

_orig_send_to_targets = Rule.send_to_targets


def _delivered_here(target: dict) -> bool:
    arn = parse_arn(target["Arn"])
    if arn.service in ("sqs", "logs"):
        return True
    return arn.service == "events" and arn.resource_type in ("", "event-bus", "api-destination")


def _send_to_targets(self: Rule, original_event: Any, transform_input: bool = True) -> None:
    if not self.event_pattern._pattern:
        return
    targets = self.targets
    self.targets = [t for t in targets if _delivered_here(t)]
    try:
        _orig_send_to_targets(self, original_event, transform_input)
    finally:
        self.targets = targets


def install() -> None:
    Rule.send_to_targets = _send_to_targets
