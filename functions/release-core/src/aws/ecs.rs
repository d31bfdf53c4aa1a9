//! `EcsApi` over `aws_sdk_ecs::Client`.
