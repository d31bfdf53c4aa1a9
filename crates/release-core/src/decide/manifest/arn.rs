//! Clusters, services and event buses named by ARN: the manifest accepts names or ARNs, and
//! convoy identifies every item by name (ids, locks, ledger keys, records), so the same service named both ways is one
//! item. An ARN's account and region must be the release's own: the functions call ECS there.

/// A cluster or service as the manifest names it: its name, the cluster a new-format service ARN
/// names, and the account and region an ARN names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named<'a> {
    pub name: &'a str,
    /// `arn:…:service/CLUSTER/NAME` names its cluster; the old `service/NAME` does not.
    pub cluster: Option<&'a str>,
    pub scope: Option<Scope<'a>>,
}

/// The account and region an ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scope<'a> {
    pub region: &'a str,
    pub account: &'a str,
}

/// Where a release runs, as far as it is known: the account and region of its execution (the
/// functions'), or the CLI's region. `None` fields are not checked.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Home {
    pub region: Option<String>,
    pub account: Option<String>,
}

impl Home {
    /// The account and region of any ARN (`arn:aws:states:us-east-1:123456789012:execution:…`).
    pub fn of_arn(arn: &str) -> Self {
        let mut parts = arn.splitn(6, ':');
        let (Some("arn"), Some(_), Some(_), Some(region), Some(account)) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Home::default();
        };
        let given = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Home {
            region: given(region),
            account: given(account),
        }
    }

    /// Why `named` (an ARN) cannot be released from here, if it cannot.
    pub fn refuses(&self, value: &str, named: &Named<'_>) -> Option<String> {
        let scope = named.scope?;
        let foreign_region = self.region.as_deref().filter(|r| *r != scope.region);
        let foreign_account = self.account.as_deref().filter(|a| *a != scope.account);
        let mut differences = Vec::new();
        if let Some(home) = foreign_account {
            differences.push(format!(
                "account {} (the release runs in {home})",
                scope.account
            ));
        }
        if let Some(home) = foreign_region {
            differences.push(format!(
                "region {} (the release runs in {home})",
                scope.region
            ));
        }
        if differences.is_empty() {
            return None;
        }
        Some(format!(
            "`{value}` is in {}: convoy releases the services of its own account and region only",
            differences.join(" and ")
        ))
    }
}

/// A cluster name, or `arn:PARTITION:ecs:REGION:ACCOUNT:cluster/NAME`.
pub fn cluster(value: &str) -> Result<Named<'_>, String> {
    let Some((scope, resource)) = ecs_arn(value, "cluster")? else {
        return Ok(Named {
            name: value,
            cluster: None,
            scope: None,
        });
    };
    match resource.split('/').collect::<Vec<_>>()[..] {
        ["cluster", name] if !name.is_empty() => Ok(Named {
            name,
            cluster: None,
            scope: Some(scope),
        }),
        _ => Err(format!(
            "`{value}` is not a cluster ARN (arn:aws:ecs:REGION:ACCOUNT:cluster/NAME)"
        )),
    }
}

/// A service name, or `arn:PARTITION:ecs:REGION:ACCOUNT:service/CLUSTER/NAME` (or the old
/// `service/NAME`).
pub fn service(value: &str) -> Result<Named<'_>, String> {
    let Some((scope, resource)) = ecs_arn(value, "service")? else {
        return Ok(Named {
            name: value,
            cluster: None,
            scope: None,
        });
    };
    let named = match resource.split('/').collect::<Vec<_>>()[..] {
        ["service", name] if !name.is_empty() => Some((None, name)),
        ["service", cluster, name] if !cluster.is_empty() && !name.is_empty() => {
            Some((Some(cluster), name))
        }
        _ => None,
    };
    match named {
        Some((cluster, name)) => Ok(Named {
            name,
            cluster,
            scope: Some(scope),
        }),
        None => Err(format!(
            "`{value}` is not a service ARN (arn:aws:ecs:REGION:ACCOUNT:service/CLUSTER/NAME)"
        )),
    }
}

/// `(scope, resource)` of an ECS ARN, `None` for a plain name.
fn ecs_arn<'a>(value: &'a str, kind: &str) -> Result<Option<(Scope<'a>, &'a str)>, String> {
    service_arn(value, "ecs", "ECS", kind)
}

/// `(scope, resource)` of an ARN of `service` (`ecs`, `events`), `None` for a plain name.
fn service_arn<'a>(
    value: &'a str,
    service: &str,
    title: &str,
    kind: &str,
) -> Result<Option<(Scope<'a>, &'a str)>, String> {
    if !value.starts_with("arn:") {
        return Ok(None);
    }
    let parts: Vec<&str> = value.splitn(6, ':').collect();
    match parts[..] {
        ["arn", partition, of, region, account, resource]
            if of == service
                && !partition.is_empty()
                && !region.is_empty()
                && account.len() == 12
                && account.chars().all(|c| c.is_ascii_digit()) =>
        {
            Ok(Some((Scope { region, account }, resource)))
        }
        _ => Err(format!(
            "`{value}` is not an {title} {kind} ARN (arn:aws:{service}:REGION:ACCOUNT:{kind}/…)"
        )),
    }
}

/// An event bus name, or `arn:PARTITION:events:REGION:ACCOUNT:event-bus/NAME` (a partner bus's
/// name holds `/`).
pub fn event_bus(value: &str) -> Result<Named<'_>, String> {
    let Some((scope, resource)) = service_arn(value, "events", "EventBridge", "event-bus")? else {
        return Ok(Named {
            name: value,
            cluster: None,
            scope: None,
        });
    };
    match resource.strip_prefix("event-bus/") {
        Some(name) if !name.is_empty() => Ok(Named {
            name,
            cluster: None,
            scope: Some(scope),
        }),
        _ => Err(format!(
            "`{value}` is not an event bus ARN (arn:aws:events:REGION:ACCOUNT:event-bus/NAME)"
        )),
    }
}

/// The bus name a task identifies, when readable: what ids, locks and duplicate checks use.
pub fn bus_key(value: &str) -> &str {
    event_bus(value).map_or(value, |b| b.name)
}

/// The `(cluster, service)` names an item identifies, when both are readable: what ids, locks and
/// duplicate checks use.
pub fn service_key<'a>(cluster_value: &'a str, service_value: &'a str) -> (&'a str, &'a str) {
    let cluster_name = cluster(cluster_value).map_or(cluster_value, |c| c.name);
    let service_name = service(service_value).map_or(service_value, |s| s.name);
    (cluster_name, service_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_bus_names_and_arns() {
        let scope = Some(Scope {
            region: "eu-west-1",
            account: "123456789012",
        });
        let named = |name| {
            Ok(Named {
                name,
                cluster: None,
                scope,
            })
        };
        let cases: [(&str, Result<Named<'_>, &str>); 6] = [
            (
                "default",
                Ok(Named {
                    name: "default",
                    cluster: None,
                    scope: None,
                }),
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:event-bus/default",
                named("default"),
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:event-bus/aws.partner/x.com/123/bus",
                named("aws.partner/x.com/123/bus"),
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:event-bus/",
                Err("is not an event bus ARN"),
            ),
            (
                "arn:aws:events:eu-west-1:123456789012:rule/nightly",
                Err("is not an event bus ARN"),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:event-bus/default",
                Err("is not an EventBridge event-bus ARN"),
            ),
        ];
        for (value, expected) in cases {
            match (event_bus(value), expected) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{value}"),
                (Err(got), Err(want)) => assert!(got.contains(want), "{value}: {got}"),
                (got, want) => panic!("{value}: got {got:?}, want {want:?}"),
            }
        }
        assert_eq!(
            bus_key("arn:aws:events:eu-west-1:123456789012:event-bus/orders"),
            "orders"
        );
        assert_eq!(bus_key("orders"), "orders");
    }

    const ACCOUNT: &str = "123456789012";

    #[test]
    fn names_and_both_service_arn_formats() {
        let scope = Some(Scope {
            region: "eu-west-1",
            account: ACCOUNT,
        });
        let cases: [(&str, Result<Named<'_>, &str>); 7] = [
            (
                "web",
                Ok(Named {
                    name: "web",
                    cluster: None,
                    scope: None,
                }),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:service/prod/web",
                Ok(Named {
                    name: "web",
                    cluster: Some("prod"),
                    scope,
                }),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:service/web",
                Ok(Named {
                    name: "web",
                    cluster: None,
                    scope,
                }),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:service/",
                Err("is not a service ARN"),
            ),
            (
                "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                Err("is not a service ARN"),
            ),
            (
                "arn:aws:ecs:eu-west-1:1234:service/prod/web",
                Err("is not an ECS service ARN"),
            ),
            (
                "arn:aws:lambda:eu-west-1:123456789012:function:web",
                Err("is not an ECS service ARN"),
            ),
        ];
        for (value, want) in cases {
            match (service(value), want) {
                (Ok(got), Ok(want)) => assert_eq!(got, want, "{value}"),
                (Err(got), Err(fragment)) => assert!(got.contains(fragment), "{value}: {got}"),
                (got, want) => panic!("{value}: {got:?}, want {want:?}"),
            }
        }
        let prod = cluster("arn:aws-cn:ecs:cn-north-1:123456789012:cluster/prod").unwrap();
        assert_eq!(
            (prod.name, prod.scope.unwrap().region),
            ("prod", "cn-north-1")
        );
        assert!(cluster("arn:aws:ecs:eu-west-1:123456789012:cluster/a/b").is_err());
        assert_eq!(
            service_key(
                "arn:aws:ecs:eu-west-1:123456789012:cluster/prod",
                "arn:aws:ecs:eu-west-1:123456789012:service/prod/web"
            ),
            ("prod", "web")
        );
    }

    #[test]
    fn an_arn_of_another_account_or_region_is_refused() {
        let home = Home::of_arn("arn:aws:states:eu-west-1:123456789012:execution:convoy:r-1");
        assert_eq!(
            (home.region.as_deref(), home.account.as_deref()),
            (Some("eu-west-1"), Some(ACCOUNT))
        );
        let here = "arn:aws:ecs:eu-west-1:123456789012:service/prod/web";
        let other_region = "arn:aws:ecs:us-east-1:123456789012:service/prod/web";
        let other_both = "arn:aws:ecs:us-east-1:210987654321:cluster/prod";
        assert_eq!(home.refuses(here, &service(here).unwrap()), None);
        assert_eq!(home.refuses("web", &service("web").unwrap()), None);
        let refused = home
            .refuses(other_region, &service(other_region).unwrap())
            .unwrap();
        assert!(
            refused.contains("is in region us-east-1 (the release runs in eu-west-1)"),
            "{refused}"
        );
        let refused = home
            .refuses(other_both, &cluster(other_both).unwrap())
            .unwrap();
        assert!(
            refused.contains("account 210987654321 (the release runs in 123456789012) and region"),
            "{refused}"
        );
        // Only what is known is checked: the CLI knows its region, not its account.
        let cli = Home {
            region: Some("us-east-1".into()),
            account: None,
        };
        assert_eq!(cli.refuses(other_both, &cluster(other_both).unwrap()), None);
        assert_eq!(Home::of_arn("not an arn"), Home::default());
    }
}
