//! Holding Application Auto Scaling still during a release (`suspendAutoScaling`): which services
//! are held, what pre-flight refuses, and what a restore sends.

use std::collections::BTreeMap;

use crate::contract::{ReleaseInput, ScalableTarget, ServiceItem};
use crate::decide::preflight::service_label;
use crate::error::Problem;

/// The services of `release` whose scaling it holds, by item id, with their manifest label:
/// `suspendAutoScaling` of the service, else of the settings.
pub fn held(release: &ReleaseInput) -> BTreeMap<String, String> {
    release
        .services
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            s.suspend_auto_scaling
                .unwrap_or(release.settings.suspend_auto_scaling)
        })
        .map(|(i, s)| (format!("{}/{}", s.cluster, s.service), service_label(i, s)))
        .collect()
}

/// Records each held, changed service's scalable target in its plan item, and names each
/// `desiredCount` the target's bounds would not keep (Application Auto Scaling would move it back
/// into them at its next action). A held service without a target is not held: nothing scales it.
pub fn record(
    services: &mut [ServiceItem],
    held: &BTreeMap<String, String>,
    targets: &[ScalableTarget],
    file: &str,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    for item in services.iter_mut().filter(|s| !s.noop) {
        let Some(label) = held.get(&item.id) else {
            continue;
        };
        let resource_id = ScalableTarget::resource_id(&item.cluster, &item.service);
        let Some(target) = targets.iter().find(|t| t.resource_id == resource_id) else {
            continue;
        };
        if let Some(desired) = item.desired_count {
            if desired < target.min_capacity || desired > target.max_capacity {
                problems.push(Problem {
                    file: file.to_owned(),
                    item: label.clone(),
                    field: "desiredCount".into(),
                    message: format!(
                        "{desired} is outside the service's scalable target ({resource_id}: \
                         min {}, max {}): Application Auto Scaling would move it back; change the \
                         target's capacities or the desiredCount",
                        target.min_capacity, target.max_capacity
                    ),
                });
            }
        }
        item.auto_scaling = Some(target.clone());
    }
    problems
}

/// The resource ids to describe: the held services that change.
pub fn to_describe(services: &[ServiceItem], held: &BTreeMap<String, String>) -> Vec<String> {
    services
        .iter()
        .filter(|s| !s.noop && held.contains_key(&s.id))
        .map(|s| ScalableTarget::resource_id(&s.cluster, &s.service))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::examples::{app_image, service_item};
    use crate::contract::{Images, ServiceTarget, Settings, SuspendedState};

    fn target(cluster: &str, service: &str, suspend: Option<bool>) -> ServiceTarget {
        ServiceTarget {
            suspend_auto_scaling: suspend,
            ..crate::contract::examples::service_target(
                cluster,
                service,
                Images::Containers(app_image("x:2")),
            )
        }
    }

    fn release(setting: bool, services: Vec<ServiceTarget>) -> ReleaseInput {
        let plan = crate::contract::examples::plan(Vec::new(), Vec::new());
        ReleaseInput {
            release: plan.release,
            settings: Settings {
                suspend_auto_scaling: setting,
                ..Settings::default()
            },
            services,
            tasks: Vec::new(),
            schedules: Vec::new(),
            jobs: Vec::new(),
            waves: Vec::new(),
        }
    }

    #[test]
    fn a_service_setting_overrides_the_release_setting() {
        let services = || {
            vec![
                target("prod", "web", None),
                target("prod", "api", Some(true)),
                target("prod", "worker", Some(false)),
            ]
        };
        let cases: [(bool, &[&str]); 2] =
            [(false, &["prod/api"]), (true, &["prod/api", "prod/web"])];
        for (setting, want) in cases {
            let held = held(&release(setting, services()));
            let ids: Vec<&str> = held.keys().map(String::as_str).collect();
            assert_eq!(ids, want, "settings.suspendAutoScaling {setting}");
        }
        let held = held(&release(true, services()));
        assert_eq!(held["prod/web"], "services[0] (prod/web)");
    }

    fn scalable(service: &str, min: i32, max: i32) -> ScalableTarget {
        ScalableTarget {
            resource_id: ScalableTarget::resource_id("prod", service),
            min_capacity: min,
            max_capacity: max,
            suspended: SuspendedState {
                scheduled_scaling_suspended: true,
                ..SuspendedState::default()
            },
        }
    }

    #[test]
    fn only_held_changed_services_with_a_target_are_recorded_and_desired_count_must_fit() {
        let item = |service: &str, desired: Option<i32>, noop: bool| {
            let mut item = service_item("prod", service, &format!("{service}:1"), app_image("x:2"));
            item.desired_count = desired;
            item.noop = noop;
            item
        };
        let mut services = vec![
            item("web", Some(4), false),     // held, fits
            item("api", Some(12), false),    // held, above max
            item("worker", Some(1), false),  // held, below min
            item("cron", None, false),       // held, no desiredCount
            item("search", Some(50), false), // held, no scalable target
            item("same", Some(99), true),    // held, unchanged
            item("free", Some(99), false),   // not held
        ];
        let held: BTreeMap<String, String> = ["web", "api", "worker", "cron", "search", "same"]
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("prod/{s}"), format!("services[{i}] (prod/{s})")))
            .collect();
        assert_eq!(
            to_describe(&services, &held),
            ["web", "api", "worker", "cron", "search"].map(|s| format!("service/prod/{s}"))
        );
        let targets = ["web", "api", "worker", "cron", "same", "free"].map(|s| scalable(s, 2, 10));
        let problems = record(&mut services, &held, &targets, "deployment.yaml");
        let named: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.item.as_str(), p.field.as_str()))
            .collect();
        assert_eq!(
            named,
            [
                ("services[1] (prod/api)", "desiredCount"),
                ("services[2] (prod/worker)", "desiredCount")
            ]
        );
        assert!(
            problems[0].message.contains("min 2, max 10"),
            "{problems:?}"
        );
        let recorded: Vec<&str> = services
            .iter()
            .filter(|s| s.auto_scaling.is_some())
            .map(|s| s.service.as_str())
            .collect();
        assert_eq!(recorded, ["web", "api", "worker", "cron"]);
        assert_eq!(services[0].auto_scaling, Some(scalable("web", 2, 10)));
    }
}
