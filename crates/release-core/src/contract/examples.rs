//! Plan items with every optional field left out, for the tests of this crate and others (with the
//! `test-util` feature); never compiled into a Lambda.

use super::{ImageMap, Images, Plan, ReleaseMeta, RuleItem, ServiceItem, ServiceTarget, Settings};

/// A changed service `cluster/service` to be cloned from `previous` with `images`.
pub fn service_item(cluster: &str, service: &str, previous: &str, images: ImageMap) -> ServiceItem {
    ServiceItem {
        id: format!("{cluster}/{service}"),
        cluster: cluster.into(),
        service: service.into(),
        previous_task_definition: previous.into(),
        previous_desired_count: None,
        previous_minimum_healthy_percent: None,
        previous_maximum_percent: None,
        images,
        noop: false,
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        timeout_seconds: 600,
        new_task_definition: None,
        previous_deployment_strategy: None,
        deployment_strategy: None,
        code_deploy: None,
        wave: 0,
        auto_scaling: None,
    }
}

/// A manifest's service `cluster/service` with `images` and nothing else set.
pub fn service_target(cluster: &str, service: &str, images: Images) -> ServiceTarget {
    ServiceTarget {
        cluster: cluster.into(),
        service: service.into(),
        images,
        suspend_auto_scaling: None,
        desired_count: None,
        minimum_healthy_percent: None,
        maximum_percent: None,
        timeout_seconds: 600,
        deployment_strategy: None,
        code_deploy: None,
        depends_on: Vec::new(),
        name: None,
    }
}

/// `{"app": image}`.
pub fn app_image(image: &str) -> ImageMap {
    [("app".to_owned(), image.to_owned())].into()
}

/// A plan of release `r` with default settings.
pub fn plan(services: Vec<ServiceItem>, tasks: Vec<RuleItem>) -> Plan {
    Plan {
        release: ReleaseMeta {
            id: "r".into(),
            description: None,
            source: "deployment.yaml".into(),
            commit: None,
        },
        settings: Settings::default(),
        changed_services: super::count(services.iter().filter(|s| !s.noop)),
        changed_tasks: super::count(tasks.iter().filter(|r| !r.noop)),
        services,
        tasks,
        jobs: Vec::new(),
        schedules: Vec::new(),
        problems: Vec::new(),
    }
}
