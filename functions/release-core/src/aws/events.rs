//! `EventsApi` over `aws_sdk_eventbridge::Client`.
