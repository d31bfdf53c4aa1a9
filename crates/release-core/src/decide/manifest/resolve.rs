//! Which container of a task definition gets which image. Needs the task definition, so plan-release
//! calls it, but the rule belongs to the manifest: it is what `service:` and `containers:` mean.

use crate::contract::{ImageMap, Images};

/// Resolves the manifest's images against a task definition's containers (`current`: container name
/// → the image it runs now) into container name → desired image.
///
/// `containers:` must name existing containers. The sample format's single `image` goes to the
/// container named like the item's `service`, else to the only container; anything else is
/// ambiguous and rejected (never a guess by substring).
pub fn resolve_images(images: &Images, current: &ImageMap) -> Result<ImageMap, String> {
    match images {
        Images::Containers(wanted) => {
            let missing: Vec<&str> = wanted
                .keys()
                .filter(|name| !current.contains_key(*name))
                .map(String::as_str)
                .collect();
            if !missing.is_empty() {
                return Err(format!(
                    "{} not in the task definition (it has {})",
                    quoted_list("container", &missing),
                    names(current)
                ));
            }
            Ok(wanted.clone())
        }
        Images::Default { preferred, image } => {
            let container = if current.contains_key(preferred) {
                preferred.as_str()
            } else {
                let mut names = current.keys();
                match (names.next(), names.next()) {
                    (Some(only), None) => only.as_str(),
                    (None, _) => return Err("the task definition has no containers".into()),
                    (Some(_), Some(_)) => {
                        return Err(format!(
                            "no container is named `{preferred}` and the task definition has \
                             several ({}); name them with `containers:`",
                            self::names(current)
                        ))
                    }
                }
            };
            Ok(ImageMap::from([(container.to_string(), image.clone())]))
        }
    }
}

/// True when every resolved container already runs its desired image: nothing to deploy.
pub fn is_noop(desired: &ImageMap, current: &ImageMap) -> bool {
    desired
        .iter()
        .all(|(name, image)| current.get(name) == Some(image))
}

fn names(current: &ImageMap) -> String {
    if current.is_empty() {
        return "no containers".into();
    }
    current
        .keys()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn quoted_list(noun: &str, items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|n| format!("`{n}`")).collect();
    let plural = if items.len() == 1 { "" } else { "s" };
    let verb = if items.len() == 1 { "is" } else { "are" };
    format!("{noun}{plural} {} {verb}", quoted.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> ImageMap {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn default(preferred: &str, image: &str) -> Images {
        Images::Default {
            preferred: preferred.into(),
            image: image.into(),
        }
    }

    #[test]
    fn resolution_table() {
        let one = map(&[("app", "repo/app:1")]);
        let two = map(&[("web", "repo/web:1"), ("log-router", "repo/fluent:1")]);
        let cases: [(&str, Images, &ImageMap, Result<ImageMap, &str>); 9] = [
            (
                "preferred name wins",
                default("web", "repo/web:2"),
                &two,
                Ok(map(&[("web", "repo/web:2")])),
            ),
            (
                "only container when the name differs",
                default("service-a", "repo/app:2"),
                &one,
                Ok(map(&[("app", "repo/app:2")])),
            ),
            (
                "no substring match among several",
                default("we", "repo/web:2"),
                &two,
                Err("no container is named `we` and the task definition has several (`log-router`, `web`)"),
            ),
            (
                "empty task definition",
                default("web", "repo/web:2"),
                &ImageMap::new(),
                Err("has no containers"),
            ),
            (
                "explicit containers",
                Images::Containers(map(&[("web", "repo/web:2"), ("log-router", "repo/fluent:2")])),
                &two,
                Ok(map(&[("web", "repo/web:2"), ("log-router", "repo/fluent:2")])),
            ),
            (
                "explicit subset",
                Images::Containers(map(&[("log-router", "repo/fluent:2")])),
                &two,
                Ok(map(&[("log-router", "repo/fluent:2")])),
            ),
            (
                "one unknown container",
                Images::Containers(map(&[("sidecar", "repo/s:1")])),
                &two,
                Err("container `sidecar` is not in the task definition (it has `log-router`, `web`)"),
            ),
            (
                "several unknown containers",
                Images::Containers(map(&[("a", "r/a:1"), ("b", "r/b:1"), ("web", "r/w:1")])),
                &two,
                Err("containers `a`, `b` are not in the task definition"),
            ),
            (
                "explicit containers on an empty task definition",
                Images::Containers(map(&[("a", "r/a:1")])),
                &ImageMap::new(),
                Err("(it has no containers)"),
            ),
        ];
        for (name, images, current, want) in cases {
            let got = resolve_images(&images, current);
            match want {
                Ok(want) => assert_eq!(got, Ok(want), "{name}"),
                Err(fragment) => {
                    let err = got.expect_err(name);
                    assert!(err.contains(fragment), "{name}: {err}");
                }
            }
        }
    }

    #[test]
    fn noop_only_when_every_desired_image_runs_already() {
        let current = map(&[("web", "repo/web:1"), ("log-router", "repo/fluent:1")]);
        let cases = [
            (map(&[("web", "repo/web:1")]), true),
            (
                map(&[("web", "repo/web:1"), ("log-router", "repo/fluent:1")]),
                true,
            ),
            (
                map(&[("web", "repo/web:1"), ("log-router", "repo/fluent:2")]),
                false,
            ),
            (map(&[("web", "repo/web:2")]), false),
            (map(&[("sidecar", "repo/s:1")]), false),
        ];
        for (desired, want) in cases {
            assert_eq!(is_noop(&desired, &current), want, "{desired:?}");
        }
    }
}
