//! Every function's role in template.yaml grants exactly what the function's code calls, which moto
//! cannot show (it evaluates no IAM policy).
//!
//! What a function calls is read from the sources, not kept by hand:
//! - the adapters (`src/aws/*.rs`, each `impl <Trait> for <SDK client>`): which SDK operations each
//!   trait method sends (`self.describe_services()…send()`, `register_input(..).send_with(self)`, or
//!   another trait method);
//! - the functions (`functions/<name>/src`) and what they reach in release-core (`steps`, `records`,
//!   …): which trait methods they call, on parameters, fields and locals typed by the traits;
//! - `release_core::aws::iam::OPERATIONS`: the IAM actions and resources of each operation;
//! - the module a records-bucket call is made from: the key prefix it reads or writes.
//!
//! The test fails on an action a function needs that its role does not grant (on that resource),
//! on a grant no code of the function needs (too broad a resource counts as both), on an operation
//! the adapters send that the table lacks, and on a table row no adapter sends.

// Helpers of a test crate are test code: a failed unwrap is a failed test (clippy.toml).
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use release_core::aws::iam::{Resource, OPERATIONS};
use release_core::contract::Records;
use release_core::decide::ledger::LEDGER_PREFIX;
use release_core::decide::lock::LOCK_PREFIX;
use release_core::decide::release_ref::INPUTS_PREFIX;
use serde_yaml_ng::Value;
use syn::punctuated::Punctuated;
use syn::visit::Visit;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

// ------------------------------------------------------------------------------------------------
// The sources
// ------------------------------------------------------------------------------------------------

/// A type as far as the scan needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Ty {
    /// Some type bounded by these traits (`&impl EcsApi`, `E: EcsApi`).
    Traits(BTreeSet<String>),
    /// A struct of the scanned sources, with its type arguments.
    Struct(String, Vec<Ty>),
    Unknown,
}

/// Generic parameter → what it is bound by.
type Env = BTreeMap<String, Ty>;

struct FnDef {
    module: String,
    /// The struct an `impl` block gives it to.
    owner: Option<String>,
    name: String,
    env: Env,
    self_ty: Option<Ty>,
    params: Vec<(String, Ty)>,
    output: Option<syn::Type>,
    body: syn::Block,
}

struct StructDef {
    params: Vec<String>,
    bounds: Env,
    fields: BTreeMap<String, syn::Type>,
}

#[derive(Default)]
struct Sources {
    fns: Vec<FnDef>,
    structs: BTreeMap<String, StructDef>,
    /// Trait → its methods (the capability traits of `aws/`).
    traits: BTreeMap<String, BTreeSet<String>>,
    /// Module → (name → the path it imports).
    imports: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

fn is_test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path().is_ident("cfg") && {
            let tokens = a.meta.require_list().map(|l| l.tokens.to_string());
            tokens.is_ok_and(|t| {
                t.split(|c: char| !c.is_alphanumeric() && c != '_')
                    .any(|w| w == "test")
            })
        }
    })
}

fn last_ident(path: &syn::Path) -> String {
    path.segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

fn bound_traits<'a>(bounds: impl IntoIterator<Item = &'a syn::TypeParamBound>) -> BTreeSet<String> {
    bounds
        .into_iter()
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => Some(last_ident(&t.path)),
            _ => None,
        })
        .collect()
}

fn generics_env(generics: &syn::Generics, mut env: Env) -> Env {
    for param in generics.type_params() {
        env.insert(
            param.ident.to_string(),
            Ty::Traits(bound_traits(&param.bounds)),
        );
    }
    if let Some(clause) = &generics.where_clause {
        for predicate in &clause.predicates {
            if let syn::WherePredicate::Type(p) = predicate {
                if let syn::Type::Path(t) = &p.bounded_ty {
                    if let Some(name) = t.path.get_ident() {
                        let mut traits = match env.get(&name.to_string()) {
                            Some(Ty::Traits(t)) => t.clone(),
                            _ => BTreeSet::new(),
                        };
                        traits.extend(bound_traits(&p.bounds));
                        env.insert(name.to_string(), Ty::Traits(traits));
                    }
                }
            }
        }
    }
    env
}

impl Sources {
    fn ty(&self, ty: &syn::Type, env: &Env) -> Ty {
        match ty {
            syn::Type::Reference(r) => self.ty(&r.elem, env),
            syn::Type::Paren(p) => self.ty(&p.elem, env),
            syn::Type::Group(g) => self.ty(&g.elem, env),
            syn::Type::ImplTrait(t) => Ty::Traits(bound_traits(&t.bounds)),
            syn::Type::Path(p) => {
                let Some(last) = p.path.segments.last() else {
                    return Ty::Unknown;
                };
                let name = last.ident.to_string();
                if p.path.segments.len() == 1 {
                    if let Some(t) = env.get(&name) {
                        return t.clone();
                    }
                }
                if self.structs.contains_key(&name) {
                    let args = match &last.arguments {
                        syn::PathArguments::AngleBracketed(a) => a
                            .args
                            .iter()
                            .filter_map(|arg| match arg {
                                syn::GenericArgument::Type(t) => Some(self.ty(t, env)),
                                _ => None,
                            })
                            .collect(),
                        _ => Vec::new(),
                    };
                    return Ty::Struct(name, args);
                }
                Ty::Unknown
            }
            _ => Ty::Unknown,
        }
    }

    /// The type of field `field` of `Struct(name, args)`.
    fn field(&self, name: &str, args: &[Ty], field: &str) -> Ty {
        let Some(def) = self.structs.get(name) else {
            return Ty::Unknown;
        };
        let Some(ty) = def.fields.get(field) else {
            return Ty::Unknown;
        };
        let mut env = def.bounds.clone();
        for (param, arg) in def.params.iter().zip(args) {
            if *arg != Ty::Unknown && *arg != Ty::Traits(BTreeSet::new()) {
                env.insert(param.clone(), arg.clone());
            }
        }
        self.ty(ty, &env)
    }

    fn methods_of<'a>(&'a self, owner: &'a str, name: &'a str) -> impl Iterator<Item = usize> + 'a {
        self.fns
            .iter()
            .enumerate()
            .filter(move |(_, f)| f.owner.as_deref() == Some(owner) && f.name == name)
            .map(|(i, _)| i)
    }

    fn free_fn(&self, module: &str, name: &str) -> Option<usize> {
        self.fns
            .iter()
            .position(|f| f.owner.is_none() && f.module == module && f.name == name)
    }

    fn has_module(&self, module: &str) -> bool {
        self.fns.iter().any(|f| f.module == module)
    }

    /// The module a path names from `module` (`lock` imported from `crate::steps`, `handler` a child,
    /// `release_core::steps::recover` absolute). `None`: outside the scanned sources.
    fn module_path(&self, module: &str, path: &[String]) -> Option<String> {
        let krate = crate_of(module);
        let (first, rest) = path.split_first()?;
        let rest = rest.join("::");
        let candidates: Vec<String> = match first.as_str() {
            "crate" => vec![join(&krate, &rest)],
            "release_core" => vec![rest],
            "self" => vec![join(module, &rest)],
            "super" => vec![join(parent(module), &rest)],
            _ => {
                let imported = self.imports.get(module).and_then(|i| i.get(first));
                if let Some(imported) = imported.filter(|i| i.len() > 1) {
                    // Imported from elsewhere: that module, or none of the scanned ones.
                    let full: Vec<String> = imported
                        .iter()
                        .cloned()
                        .chain(path[1..].iter().cloned())
                        .collect();
                    return self.module_path(module, &full);
                }
                let relative = path.join("::");
                vec![join(module, &relative), join(&krate, &relative)]
            }
        };
        candidates.into_iter().find(|c| self.has_module(c))
    }
}

fn crate_of(module: &str) -> String {
    if module.starts_with("fn:") || module.starts_with(CLI) {
        module.split("::").next().unwrap_or_default().to_owned()
    } else {
        String::new()
    }
}

fn join(a: &str, b: &str) -> String {
    match (a.is_empty(), b.is_empty()) {
        (true, _) => b.to_owned(),
        (_, true) => a.to_owned(),
        _ => format!("{a}::{b}"),
    }
}

fn parent(module: &str) -> &str {
    module.rsplit_once("::").map_or("", |(p, _)| p)
}

fn use_tree(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut BTreeMap<String, Vec<String>>,
) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(p.ident.to_string());
            use_tree(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let mut full = prefix.clone();
            let name = n.ident.to_string();
            if name == "self" {
                if let Some(last) = prefix.last() {
                    out.insert(last.clone(), full);
                }
            } else {
                full.push(name.clone());
                out.insert(name, full);
            }
        }
        syn::UseTree::Rename(r) => {
            let mut full = prefix.clone();
            full.push(r.ident.to_string());
            out.insert(r.rename.to_string(), full);
        }
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_tree(t, prefix, out);
            }
        }
        syn::UseTree::Glob(_) => {}
    }
}

fn add_items(sources: &mut Sources, module: &str, items: &[syn::Item]) {
    for item in items {
        match item {
            syn::Item::Fn(f) if !is_test_only(&f.attrs) => {
                let env = generics_env(&f.sig.generics, Env::new());
                add_fn(sources, module, None, None, env, &f.sig, &f.block);
            }
            syn::Item::Impl(i) if !is_test_only(&i.attrs) && i.trait_.is_none() => {
                let syn::Type::Path(self_path) = &*i.self_ty else {
                    continue;
                };
                let owner = last_ident(&self_path.path);
                let env = generics_env(&i.generics, Env::new());
                let args = match &self_path.path.segments.last().unwrap().arguments {
                    syn::PathArguments::AngleBracketed(a) => a
                        .args
                        .iter()
                        .filter_map(|arg| match arg {
                            syn::GenericArgument::Type(syn::Type::Path(t)) => Some(
                                t.path
                                    .get_ident()
                                    .and_then(|p| env.get(&p.to_string()).cloned())
                                    .unwrap_or(Ty::Unknown),
                            ),
                            syn::GenericArgument::Type(_) => Some(Ty::Unknown),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                let self_ty = Ty::Struct(owner.clone(), args);
                for impl_item in &i.items {
                    if let syn::ImplItem::Fn(m) = impl_item {
                        if is_test_only(&m.attrs) {
                            continue;
                        }
                        let env = generics_env(&m.sig.generics, env.clone());
                        add_fn(
                            sources,
                            module,
                            Some(&owner),
                            Some(self_ty.clone()),
                            env,
                            &m.sig,
                            &m.block,
                        );
                    }
                }
            }
            syn::Item::Struct(s) if !is_test_only(&s.attrs) => {
                let fields = s
                    .fields
                    .iter()
                    .filter_map(|f| Some((f.ident.as_ref()?.to_string(), f.ty.clone())))
                    .collect();
                sources.structs.insert(
                    s.ident.to_string(),
                    StructDef {
                        params: s
                            .generics
                            .type_params()
                            .map(|p| p.ident.to_string())
                            .collect(),
                        bounds: generics_env(&s.generics, Env::new()),
                        fields,
                    },
                );
            }
            syn::Item::Use(u) if !is_test_only(&u.attrs) => {
                let imports = sources.imports.entry(module.to_owned()).or_default();
                use_tree(&u.tree, &mut Vec::new(), imports);
            }
            syn::Item::Mod(m) if !is_test_only(&m.attrs) => {
                if let Some((_, items)) = &m.content {
                    add_items(sources, &join(module, &m.ident.to_string()), items);
                }
            }
            _ => {}
        }
    }
}

fn add_fn(
    sources: &mut Sources,
    module: &str,
    owner: Option<&str>,
    self_ty: Option<Ty>,
    env: Env,
    sig: &syn::Signature,
    body: &syn::Block,
) {
    let takes_self = sig.receiver().is_some();
    let params = sig
        .inputs
        .iter()
        .filter_map(|input| match input {
            syn::FnArg::Typed(t) => match &*t.pat {
                syn::Pat::Ident(p) => Some((p.ident.to_string(), sources.ty(&t.ty, &env))),
                _ => None,
            },
            syn::FnArg::Receiver(_) => None,
        })
        .collect();
    let output = match &sig.output {
        syn::ReturnType::Type(_, t) => Some((**t).clone()),
        syn::ReturnType::Default => None,
    };
    sources.fns.push(FnDef {
        module: module.to_owned(),
        owner: owner.map(str::to_owned),
        name: sig.ident.to_string(),
        env,
        self_ty: if takes_self { self_ty } else { None },
        params,
        output,
        body: body.clone(),
    });
}

fn parse(path: &Path) -> syn::File {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    syn::parse_file(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// `steps/lock.rs` → `steps::lock`, `steps/mod.rs` → `steps`, `lib.rs` / `main.rs` → ``.
fn module_of(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .with_extension("")
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    parts.join("::")
}

/// Which function crates there are: `functions/<name>`.
fn function_names() -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root().join("functions"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// The module path the `convoy` CLI's sources are scanned under (`bin:convoy::cmd::plan`).
const CLI: &str = "bin:convoy";

/// The orchestrating code of release-core (`aws/` holds the adapters, read apart; `decide` and
/// `contract` may not call AWS: tests/module_rule.rs) and every function crate.
fn sources() -> Sources {
    index(core_and_function_files())
}

/// [`sources`] and the `convoy` CLI (`cli/src`), kept apart from the functions' scan: the CLI's
/// struct names may repeat release-core's.
fn sources_with_cli() -> Sources {
    let mut files = core_and_function_files();
    let dir = root().join("cli/src");
    for path in rust_files(&dir) {
        let relative = path.strip_prefix(&dir).unwrap().to_owned();
        files.push((join(CLI, &module_of(&relative)), parse(&path)));
    }
    index(files)
}

fn core_and_function_files() -> Vec<(String, syn::File)> {
    let core = root().join("crates/release-core/src");
    let mut files = Vec::new();
    for path in rust_files(&core) {
        let relative = path.strip_prefix(&core).unwrap().to_owned();
        let top = relative.components().next().unwrap().as_os_str().to_owned();
        if top != "aws" && top != "decide" && top != "contract" {
            files.push((module_of(&relative), parse(&path)));
        }
    }
    for function in function_names() {
        let dir = root().join("functions").join(&function).join("src");
        for path in rust_files(&dir) {
            let relative = path.strip_prefix(&dir).unwrap().to_owned();
            files.push((
                join(&format!("fn:{function}"), &module_of(&relative)),
                parse(&path),
            ));
        }
    }
    files
}

fn index(files: Vec<(String, syn::File)>) -> Sources {
    let mut sources = Sources::default();
    let core = root().join("crates/release-core/src");
    // The traits first: parameter types refer to them.
    for path in rust_files(&core.join("aws")) {
        for item in parse(&path).items {
            if let syn::Item::Trait(t) = item {
                if !is_test_only(&t.attrs) {
                    let methods = t
                        .items
                        .iter()
                        .filter_map(|i| match i {
                            syn::TraitItem::Fn(f) => Some(f.sig.ident.to_string()),
                            _ => None,
                        })
                        .collect();
                    sources.traits.insert(t.ident.to_string(), methods);
                }
            }
        }
    }
    // Structs before functions, whose parameters name them.
    for (module, file) in &files {
        let structs: Vec<syn::Item> = file
            .items
            .iter()
            .filter(|i| matches!(i, syn::Item::Struct(_) | syn::Item::Use(_)))
            .cloned()
            .collect();
        add_items(&mut sources, module, &structs);
    }
    for (module, file) in &files {
        let rest: Vec<syn::Item> = file
            .items
            .iter()
            .filter(|i| !matches!(i, syn::Item::Struct(_) | syn::Item::Use(_)))
            .cloned()
            .collect();
        add_items(&mut sources, module, &rest);
    }
    sources
}

/// A call a function body makes, as far as IAM is concerned.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Call {
    /// Another scanned function (index into `Sources::fns`).
    Fn(usize),
    /// A capability trait's method.
    Trait(String, String),
    /// A capability trait's method on something the scan could not type: a failure, so a call
    /// cannot slip past it.
    Untyped(String),
}

struct Body<'s> {
    sources: &'s Sources,
    def: &'s FnDef,
    locals: BTreeMap<String, Ty>,
    calls: BTreeSet<Call>,
}

impl Body<'_> {
    fn ty_of(&self, expr: &syn::Expr) -> Ty {
        match expr {
            syn::Expr::Path(p) => match p.path.get_ident().map(ToString::to_string) {
                Some(name) if name == "self" => self.def.self_ty.clone().unwrap_or(Ty::Unknown),
                Some(name) => self.locals.get(&name).cloned().unwrap_or(Ty::Unknown),
                None => Ty::Unknown,
            },
            syn::Expr::Reference(r) => self.ty_of(&r.expr),
            syn::Expr::Paren(p) => self.ty_of(&p.expr),
            syn::Expr::Unary(u) if matches!(u.op, syn::UnOp::Deref(_)) => self.ty_of(&u.expr),
            syn::Expr::Field(f) => match (self.ty_of(&f.base), &f.member) {
                (Ty::Struct(name, args), syn::Member::Named(field)) => {
                    self.sources.field(&name, &args, &field.to_string())
                }
                _ => Ty::Unknown,
            },
            syn::Expr::Struct(literal) => self.struct_literal(literal),
            syn::Expr::MethodCall(m) => match self.ty_of(&m.receiver) {
                Ty::Struct(owner, _) => {
                    let method = m.method.to_string();
                    let found = self.sources.methods_of(&owner, &method).next();
                    found
                        .and_then(|i| {
                            let f = &self.sources.fns[i];
                            f.output.as_ref().map(|o| self.sources.ty(o, &f.env))
                        })
                        .unwrap_or(Ty::Unknown)
                }
                _ => Ty::Unknown,
            },
            _ => Ty::Unknown,
        }
    }

    /// `Name { field: value, .. }`: each type parameter of `Name` is the type of the value given to
    /// a field declared as that parameter (or a reference to it).
    fn struct_literal(&self, literal: &syn::ExprStruct) -> Ty {
        let Some(name) = literal.path.segments.last().map(|s| s.ident.to_string()) else {
            return Ty::Unknown;
        };
        let Some(def) = self.sources.structs.get(&name) else {
            return Ty::Unknown;
        };
        let given = |param: &str| {
            literal.fields.iter().find_map(|f| {
                let syn::Member::Named(field) = &f.member else {
                    return None;
                };
                let declared = def.fields.get(&field.to_string())?;
                (type_param(declared)? == param).then(|| self.ty_of(&f.expr))
            })
        };
        let args = def
            .params
            .iter()
            .map(|param| given(param).unwrap_or(Ty::Unknown))
            .collect();
        Ty::Struct(name, args)
    }

    fn path_call(&mut self, path: &syn::Path) {
        let segments: Vec<String> = path.segments.iter().map(|s| s.ident.to_string()).collect();
        let Some((name, qualifier)) = segments.split_last() else {
            return;
        };
        let module = &self.def.module;
        match qualifier {
            [] => {
                if let Some(i) = self.sources.free_fn(module, name) {
                    self.calls.insert(Call::Fn(i));
                } else if let Some(full) = self
                    .sources
                    .imports
                    .get(module)
                    .and_then(|i| i.get(name))
                    .filter(|full| full.len() > 1)
                    .cloned()
                {
                    self.path_call(&syn::parse_str(&full.join("::")).unwrap());
                }
            }
            [.., last] if last == "Self" => {
                if let Some(owner) = &self.def.owner {
                    let found: Vec<usize> = self.sources.methods_of(owner, name).collect();
                    self.calls.extend(found.into_iter().map(Call::Fn));
                }
            }
            [.., last] if self.sources.traits.contains_key(last) => {
                self.calls.insert(Call::Trait(last.clone(), name.clone()));
            }
            [.., last] if self.sources.structs.contains_key(last) => {
                let found: Vec<usize> = self.sources.methods_of(last, name).collect();
                self.calls.extend(found.into_iter().map(Call::Fn));
            }
            _ => {
                if let Some(target) = self.sources.module_path(module, qualifier) {
                    if let Some(i) = self.sources.free_fn(&target, name) {
                        self.calls.insert(Call::Fn(i));
                    }
                }
            }
        }
    }
}

/// `P`, `&P` or `&'a P`: the single-segment type it names.
fn type_param(ty: &syn::Type) -> Option<String> {
    match ty {
        syn::Type::Reference(r) => type_param(&r.elem),
        syn::Type::Path(p) if p.path.segments.len() == 1 => {
            Some(p.path.segments[0].ident.to_string())
        }
        _ => None,
    }
}

/// Trait methods whose names are also everyday methods of std types (`map.get`, `text.replace`): on
/// a receiver the scan cannot type they are taken for those.
const EVERYDAY: [&str; 8] = [
    "get", "put", "read", "create", "replace", "delete", "list", "input",
];

impl<'ast> Visit<'ast> for Body<'_> {
    fn visit_local(&mut self, local: &'ast syn::Local) {
        syn::visit::visit_local(self, local);
        if let (syn::Pat::Ident(p), Some(init)) = (&local.pat, &local.init) {
            let ty = self.ty_of(&init.expr);
            if ty != Ty::Unknown {
                self.locals.insert(p.ident.to_string(), ty);
            }
        }
    }

    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        syn::visit::visit_expr_method_call(self, call);
        let method = call.method.to_string();
        match self.ty_of(&call.receiver) {
            Ty::Traits(traits) => {
                for t in traits {
                    if self
                        .sources
                        .traits
                        .get(&t)
                        .is_some_and(|m| m.contains(&method))
                    {
                        self.calls.insert(Call::Trait(t, method.clone()));
                    }
                }
            }
            Ty::Struct(owner, _) => {
                let found: Vec<usize> = self.sources.methods_of(&owner, &method).collect();
                self.calls.extend(found.into_iter().map(Call::Fn));
            }
            Ty::Unknown => {
                let capability = self.sources.traits.values().any(|m| m.contains(&method));
                if capability && !EVERYDAY.contains(&method.as_str()) {
                    let receiver = &call.receiver;
                    self.calls.insert(Call::Untyped(format!(
                        "{}::{}: `{}.{method}(..)`",
                        self.def.module,
                        self.def.name,
                        quote_expr(receiver)
                    )));
                }
            }
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        syn::visit::visit_expr_call(self, call);
        if let syn::Expr::Path(p) = &*call.func {
            self.path_call(&p.path);
        }
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        // `join!(a, b)`, `format!("{}", x.y())`: what parses as expressions is visited.
        if let Ok(exprs) =
            mac.parse_body_with(Punctuated::<syn::Expr, syn::Token![,]>::parse_terminated)
        {
            for e in &exprs {
                self.visit_expr(e);
            }
        }
    }
}

/// `context.store.objects()` as written, for a message (`…` for anything else).
fn quote_expr(expr: &syn::Expr) -> String {
    match expr {
        syn::Expr::Path(p) => p
            .path
            .segments
            .iter()
            .map(|s| s.ident.to_string())
            .collect::<Vec<_>>()
            .join("::"),
        syn::Expr::Field(f) => match &f.member {
            syn::Member::Named(name) => format!("{}.{name}", quote_expr(&f.base)),
            syn::Member::Unnamed(i) => format!("{}.{}", quote_expr(&f.base), i.index),
        },
        syn::Expr::MethodCall(m) => format!("{}.{}(..)", quote_expr(&m.receiver), m.method),
        syn::Expr::Call(c) => format!("{}(..)", quote_expr(&c.func)),
        syn::Expr::Reference(r) => format!("&{}", quote_expr(&r.expr)),
        syn::Expr::Paren(p) => quote_expr(&p.expr),
        _ => "…".into(),
    }
}

fn calls_of(sources: &Sources, i: usize) -> BTreeSet<Call> {
    let def = &sources.fns[i];
    let mut body = Body {
        sources,
        def,
        locals: def.params.iter().cloned().collect(),
        calls: BTreeSet::new(),
    };
    body.visit_block(&def.body);
    body.calls
}

/// A capability call and the module it is made from.
type Reached = BTreeSet<(String, String, String)>;

/// Every trait method function `name` reaches: (trait, method, calling module).
fn reached(sources: &Sources, function: &str, untyped: &mut Vec<String>) -> Reached {
    let prefix = format!("fn:{function}");
    let todo: Vec<usize> = sources
        .fns
        .iter()
        .enumerate()
        .filter(|(_, f)| f.module == prefix || f.module.starts_with(&format!("{prefix}::")))
        .map(|(i, _)| i)
        .collect();
    assert!(!todo.is_empty(), "functions/{function}: no code found");
    reached_from(sources, todo, untyped)
}

/// Every trait method the scanned functions `todo` reach: (trait, method, calling module).
fn reached_from(sources: &Sources, mut todo: Vec<usize>, untyped: &mut Vec<String>) -> Reached {
    let mut seen = BTreeSet::new();
    let mut out = Reached::new();
    while let Some(i) = todo.pop() {
        if !seen.insert(i) {
            continue;
        }
        for call in calls_of(sources, i) {
            match call {
                Call::Fn(j) => todo.push(j),
                Call::Trait(t, m) => {
                    out.insert((t, m, sources.fns[i].module.clone()));
                }
                Call::Untyped(what) => untyped.push(what),
            }
        }
    }
    out
}

// ------------------------------------------------------------------------------------------------
// The adapters
// ------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Sends {
    /// (SDK crate, operation)
    Operation(String, String),
    /// Another trait method of the same client.
    Method(String, String),
}

/// (trait, method) → what the adapter's implementation sends; plus what the scan could not read.
type Adapters = BTreeMap<(String, String), BTreeSet<Sends>>;

/// `RegisterTaskDefinitionInputBuilder` → `register_task_definition`.
fn operation_of_builder(ty: &str) -> Option<String> {
    let op = ty
        .strip_suffix("InputBuilder")
        .or_else(|| ty.strip_suffix("FluentBuilder"))?;
    let mut snake = String::new();
    for (i, c) in op.chars().enumerate() {
        if c.is_uppercase() && i > 0 {
            snake.push('_');
        }
        snake.push(c.to_ascii_lowercase());
    }
    Some(snake)
}

/// The return type of fn `name` anywhere in release-core (a request builder an adapter sends).
fn builder_returned_by(name: &str) -> Option<String> {
    let core = root().join("crates/release-core/src");
    for path in rust_files(&core) {
        for item in parse(&path).items {
            if let syn::Item::Fn(f) = item {
                if f.sig.ident == name {
                    if let syn::ReturnType::Type(_, t) = f.sig.output {
                        if let syn::Type::Path(p) = *t {
                            return Some(last_ident(&p.path));
                        }
                    }
                }
            }
        }
    }
    None
}

struct AdapterBody<'a> {
    sdk: String,
    traits: &'a BTreeMap<String, BTreeSet<String>>,
    sends: BTreeSet<Sends>,
    unreadable: Vec<String>,
}

fn is_self(expr: &syn::Expr) -> bool {
    matches!(expr, syn::Expr::Path(p) if p.path.is_ident("self"))
}

impl<'ast> Visit<'ast> for AdapterBody<'_> {
    fn visit_expr_method_call(&mut self, call: &'ast syn::ExprMethodCall) {
        syn::visit::visit_expr_method_call(self, call);
        if is_self(&call.receiver) && call.args.is_empty() {
            // The client's fluent builder: `self.describe_services()`.
            self.sends
                .insert(Sends::Operation(self.sdk.clone(), call.method.to_string()));
        } else if call.method == "send_with" && call.args.iter().any(is_self) {
            let builder = match &*call.receiver {
                syn::Expr::Call(c) => match &*c.func {
                    syn::Expr::Path(p) => builder_returned_by(&last_ident(&p.path)),
                    _ => None,
                },
                _ => None,
            };
            match builder.as_deref().and_then(operation_of_builder) {
                Some(op) => {
                    self.sends.insert(Sends::Operation(self.sdk.clone(), op));
                }
                None => self
                    .unreadable
                    .push(format!("`{}`", quote_expr(&call.receiver))),
            }
        }
    }

    fn visit_expr_call(&mut self, call: &'ast syn::ExprCall) {
        syn::visit::visit_expr_call(self, call);
        if let syn::Expr::Path(p) = &*call.func {
            let segments: Vec<String> = p
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            if let [.., t, m] = segments.as_slice() {
                if self.traits.contains_key(t) {
                    self.sends.insert(Sends::Method(t.clone(), m.clone()));
                }
            }
        }
    }
}

fn adapters(sources: &Sources) -> (Adapters, Vec<String>) {
    let mut adapters = Adapters::new();
    let mut unreadable = Vec::new();
    for path in rust_files(&root().join("crates/release-core/src/aws")) {
        let file = parse(&path);
        let mut imports = BTreeMap::new();
        for item in &file.items {
            if let syn::Item::Use(u) = item {
                use_tree(&u.tree, &mut Vec::new(), &mut imports);
            }
        }
        for item in &file.items {
            let syn::Item::Impl(i) = item else { continue };
            let Some((_, trait_path, _)) = &i.trait_ else {
                continue;
            };
            let trait_name = last_ident(trait_path);
            if is_test_only(&i.attrs) || !sources.traits.contains_key(&trait_name) {
                continue;
            }
            let syn::Type::Path(client) = &*i.self_ty else {
                continue;
            };
            let segments: Vec<String> = client
                .path
                .segments
                .iter()
                .map(|s| s.ident.to_string())
                .collect();
            let full = if segments.len() == 1 {
                imports.get(&segments[0]).cloned().unwrap_or(segments)
            } else {
                segments
            };
            let Some(sdk) = full.first().filter(|s| s.starts_with("aws_sdk_")).cloned() else {
                continue;
            };
            for impl_item in &i.items {
                if let syn::ImplItem::Fn(m) = impl_item {
                    let mut body = AdapterBody {
                        sdk: sdk.clone(),
                        traits: &sources.traits,
                        sends: BTreeSet::new(),
                        unreadable: Vec::new(),
                    };
                    body.visit_block(&m.block);
                    let method = m.sig.ident.to_string();
                    unreadable.extend(
                        body.unreadable
                            .into_iter()
                            .map(|u| format!("{}: {trait_name}::{method}: {u}", path.display())),
                    );
                    adapters
                        .entry((trait_name.clone(), method))
                        .or_default()
                        .extend(body.sends);
                }
            }
        }
    }
    (adapters, unreadable)
}

/// The SDK operations a trait method sends, following the adapter's calls of other methods.
fn operations(adapters: &Adapters, t: &str, m: &str) -> Option<BTreeSet<(String, String)>> {
    let mut out = BTreeSet::new();
    let mut todo = vec![(t.to_owned(), m.to_owned())];
    let mut seen = BTreeSet::new();
    while let Some(key) = todo.pop() {
        if !seen.insert(key.clone()) {
            continue;
        }
        for sends in adapters.get(&key)? {
            match sends {
                Sends::Operation(sdk, op) => {
                    out.insert((sdk.clone(), op.clone()));
                }
                Sends::Method(t, m) => todo.push((t.clone(), m.clone())),
            }
        }
    }
    Some(out)
}

// ------------------------------------------------------------------------------------------------
// What each function needs
// ------------------------------------------------------------------------------------------------

/// The key prefix of the records bucket each module reads and writes.
fn record_prefixes() -> BTreeMap<&'static str, String> {
    let releases = Records::for_execution("bucket", "release", "execution").prefix;
    let releases = format!("{}/", releases.split('/').next().unwrap());
    BTreeMap::from([
        ("records", releases),
        ("steps::lock", LOCK_PREFIX.to_owned()),
        ("steps::ledger", LEDGER_PREFIX.to_owned()),
        ("steps::release_ref", INPUTS_PREFIX.to_owned()),
    ])
}

/// One grant a function needs (or has): action, resource as the template writes it, and the one
/// condition that decides whether it covers the need.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Need {
    action: String,
    resource: String,
    condition: Cond,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Cond {
    /// Whatever the statement's conditions (they only narrow what ECS or a cluster ARN allows).
    Any,
    /// `StringEquals iam:PassedToService` this service.
    PassedTo(String),
    /// No `s3:prefix` condition, or one equal to this (`ledger/*`).
    Prefix(String),
    /// No `s3:prefix` condition.
    NoPrefix,
}

fn arn(service: &str, resource: &str) -> String {
    format!("arn:${{AWS::Partition}}:{service}:${{AWS::Region}}:${{AWS::AccountId}}:{resource}")
}

/// The resource string and condition of `resource` for a call from a module with `prefix`.
fn need(
    action: &str,
    resource: Resource,
    prefix: Option<&str>,
    machine: &str,
) -> Result<Need, String> {
    let records = "${ReleaseRecordsBucket.Arn}".to_owned();
    let (resource, condition) = match resource {
        Resource::EcsCluster => (arn("ecs", "cluster/*"), Cond::Any),
        Resource::EcsService => (arn("ecs", "service/*"), Cond::Any),
        Resource::EcsTask => (arn("ecs", "task/*"), Cond::Any),
        Resource::EcsTaskDefinition => (arn("ecs", "task-definition/*"), Cond::Any),
        Resource::EcsServiceDeployment => (arn("ecs", "service-deployment/*"), Cond::Any),
        Resource::CodeDeployGroup => (arn("codedeploy", "deploymentgroup:*"), Cond::Any),
        Resource::CodeDeployConfig => (arn("codedeploy", "deploymentconfig:*"), Cond::Any),
        Resource::CodeDeployApplication => (arn("codedeploy", "application:*"), Cond::Any),
        Resource::EventsRule => (arn("events", "rule/*"), Cond::Any),
        Resource::ReleaseEventBus => (arn("events", "event-bus/${ReleaseEventBusName}"), Cond::Any),
        Resource::SchedulerSchedule => (arn("scheduler", "schedule/*"), Cond::Any),
        Resource::ScalableTarget => (
            arn("application-autoscaling", "scalable-target/*"),
            Cond::Any,
        ),
        Resource::ReleaseExecutions => {
            (arn("states", &format!("execution:{machine}:*")), Cond::Any)
        }
        Resource::PassedRole(service) => {
            ("${PassableRoleArns}".into(), Cond::PassedTo(service.into()))
        }
        Resource::Any(_) => ("*".into(), Cond::Any),
        Resource::RecordsObjects | Resource::RecordsBucket => {
            let prefix =
                prefix.ok_or("a call on the records bucket from a module without a prefix")?;
            if resource == Resource::RecordsObjects {
                (format!("{records}/{prefix}*"), Cond::Any)
            } else {
                (records, Cond::Prefix(format!("{prefix}*")))
            }
        }
        Resource::RecordsBucketUnconditioned => (records, Cond::NoPrefix),
    };
    Ok(Need {
        action: action.to_owned(),
        resource,
        condition,
    })
}

/// What every function's role needs whatever its code: what the Lambda runtime sends for it.
fn runtime_needs(function: &Value) -> Vec<Need> {
    let logs = arn("logs", "log-group:${!aws:PrincipalTag/convoy-log-group}:*");
    let mut needs = vec![
        // LoggingConfig: the function's own log group (each role's tag names it).
        ("logs:CreateLogStream", logs.clone()),
        ("logs:PutLogEvents", logs),
        // Tracing: Active; X-Ray has no resource-level permissions.
        ("xray:PutTraceSegments", "*".into()),
        ("xray:PutTelemetryRecords", "*".into()),
    ];
    // DeadLetterQueue: Lambda sends a failed asynchronous event there as the function's role.
    let dlq = &function["Properties"]["DeadLetterQueue"];
    if dlq["Type"].as_str() == Some("SQS") {
        needs.push(("sqs:SendMessage", text(&dlq["TargetArn"])));
    }
    needs
        .into_iter()
        .map(|(action, resource)| Need {
            action: action.into(),
            resource,
            condition: Cond::Any,
        })
        .collect()
}

// ------------------------------------------------------------------------------------------------
// The template
// ------------------------------------------------------------------------------------------------

fn template() -> Value {
    let path = root().join("template.yaml");
    serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// A string the way `!Sub` would write it: `!GetAtt X.Arn` → `${X.Arn}`, `!Ref P` → `${P}`.
fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Tagged(t) => match (t.tag.to_string().as_str(), &t.value) {
            ("!Sub", Value::String(s)) => s.clone(),
            ("!GetAtt" | "!Ref", Value::String(s)) => format!("${{{s}}}"),
            (tag, value) => format!("{tag} {value:?}"),
        },
        other => format!("{other:?}"),
    }
}

fn list(v: &Value) -> Vec<String> {
    match v {
        Value::Sequence(items) => items.iter().map(text).collect(),
        Value::Null => Vec::new(),
        other => vec![text(other)],
    }
}

#[derive(Debug, Clone)]
struct Statement {
    sid: String,
    actions: Vec<String>,
    resources: Vec<String>,
    condition: Value,
}

fn statements(doc: &Value) -> Vec<Statement> {
    doc["Statement"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
        .iter()
        .filter(|s| s["Effect"].as_str() == Some("Allow"))
        .map(|s| Statement {
            sid: s["Sid"].as_str().unwrap_or("(no Sid)").to_owned(),
            actions: list(&s["Action"]),
            resources: list(&s["Resource"]),
            condition: s["Condition"].clone(),
        })
        .collect()
}

/// Binary → the statements its role carries (inline policies and the managed ones it attaches).
fn roles(doc: &Value) -> BTreeMap<String, (Value, Vec<Statement>)> {
    let resources = &doc["Resources"];
    let mut out = BTreeMap::new();
    for (_, function) in resources.as_mapping().unwrap() {
        if function["Type"].as_str() != Some("AWS::Serverless::Function") {
            continue;
        }
        let binary = function["Metadata"]["BuildProperties"]["Binary"]
            .as_str()
            .unwrap()
            .to_owned();
        let role_ref = text(&function["Properties"]["Role"]);
        let role_id = role_ref.trim_start_matches("${").trim_end_matches(".Arn}");
        let role = &resources[role_id]["Properties"];
        let mut found = Vec::new();
        for policy in role["Policies"].as_sequence().cloned().unwrap_or_default() {
            found.extend(statements(&policy["PolicyDocument"]));
        }
        for managed in list(&role["ManagedPolicyArns"]) {
            let id = managed.trim_start_matches("${").trim_end_matches('}');
            found.extend(statements(&resources[id]["Properties"]["PolicyDocument"]));
        }
        out.insert(binary, (function.clone(), found));
    }
    out
}

fn condition_strings(condition: &Value, operator: &str, key: &str) -> Option<Vec<String>> {
    let value = &condition[operator][key];
    (!value.is_null()).then(|| list(value))
}

fn covers(statement: &Statement, need: &Need) -> bool {
    if !statement.actions.contains(&need.action) || !statement.resources.contains(&need.resource) {
        return false;
    }
    let prefix = condition_strings(&statement.condition, "StringLike", "s3:prefix")
        .or_else(|| condition_strings(&statement.condition, "StringEquals", "s3:prefix"));
    match &need.condition {
        Cond::Any => true,
        Cond::PassedTo(service) => {
            condition_strings(&statement.condition, "StringEquals", "iam:PassedToService")
                .is_some_and(|s| s == [service.clone()])
        }
        Cond::Prefix(p) => prefix.is_none_or(|s| s == [p.clone()]),
        Cond::NoPrefix => prefix.is_none(),
    }
}

/// The state machine's name as its ARN spells it (`${AWS::StackName}-release`).
fn machine_name(doc: &Value) -> String {
    text(&doc["Resources"]["ReleaseStateMachine"]["Properties"]["Name"])
}

// ------------------------------------------------------------------------------------------------
// The check
// ------------------------------------------------------------------------------------------------

/// What some code reaches, and what it takes to read it as grants.
struct Calls<'a> {
    /// Whose calls, for a message (`plan-release`, `convoy plan`).
    who: &'a str,
    reached: &'a Reached,
    adapters: &'a Adapters,
    prefixes: &'a BTreeMap<&'static str, String>,
    machine: &'a str,
}

impl Calls<'_> {
    /// Adds every grant the reached calls need to `needs` (need → why); what cannot be read as a
    /// grant goes to `problems`.
    fn add_needs(&self, needs: &mut BTreeMap<Need, String>, problems: &mut Vec<String>) {
        let who = self.who;
        for (t, m, module) in self.reached {
            let Some(ops) = operations(self.adapters, t, m) else {
                problems.push(format!(
                    "{who}: calls {t}::{m}, which no adapter implements"
                ));
                continue;
            };
            for (sdk, op) in ops {
                let Some(row) = release_core::aws::iam::operation(&sdk, &op) else {
                    continue; // reported by `problems`
                };
                for permission in row.permissions {
                    match need(
                        permission.action,
                        permission.resource,
                        self.prefixes.get(module.as_str()).map(String::as_str),
                        self.machine,
                    ) {
                        Ok(n) => {
                            needs
                                .entry(n)
                                .or_insert_with(|| format!("{t}::{m} in {module}"));
                        }
                        Err(e) => problems.push(format!(
                            "{who}: {t}::{m} in {module}: {e} (record_prefixes)"
                        )),
                    }
                }
            }
        }
    }
}

/// Every problem: the code against the table, and each function's role against its needs.
fn problems(doc: &Value) -> Vec<String> {
    let sources = sources();
    let (adapters, unreadable) = adapters(&sources);
    let mut problems: Vec<String> = unreadable
        .into_iter()
        .map(|u| format!("cannot tell which operation this sends: {u}"))
        .collect();

    // The table against the adapters.
    let sent: BTreeSet<(String, String)> = adapters
        .values()
        .flatten()
        .filter_map(|s| match s {
            Sends::Operation(sdk, op) => Some((sdk.clone(), op.clone())),
            Sends::Method(..) => None,
        })
        .collect();
    for (sdk, op) in &sent {
        if release_core::aws::iam::operation(sdk, op).is_none() {
            problems.push(format!(
                "the adapters send {sdk} {op}, which aws::iam::OPERATIONS does not list"
            ));
        }
    }
    for row in OPERATIONS {
        if !sent.contains(&(row.sdk.to_owned(), row.operation.to_owned())) {
            problems.push(format!(
                "aws::iam::OPERATIONS lists {} {}, which no adapter sends",
                row.sdk, row.operation
            ));
        }
    }

    let prefixes = record_prefixes();
    let machine = machine_name(doc);
    let roles = roles(doc);
    let functions = function_names();
    for binary in roles.keys() {
        if !functions.contains(binary) {
            problems.push(format!(
                "template.yaml builds `{binary}`, which functions/ does not hold"
            ));
        }
    }
    for function in &functions {
        let Some((resource, granted)) = roles.get(function) else {
            problems.push(format!(
                "functions/{function}: no function of template.yaml builds it"
            ));
            continue;
        };
        let mut untyped = Vec::new();
        let reached = reached(&sources, function, &mut untyped);
        problems.extend(
            untyped
                .into_iter()
                .map(|u| format!("{function}: cannot tell what this calls: {u}")),
        );
        // need → why (the trait method and the module that calls it).
        let mut needs: BTreeMap<Need, String> = runtime_needs(resource)
            .into_iter()
            .map(|n| (n, "the Lambda runtime".to_owned()))
            .collect();
        let calls = Calls {
            who: function,
            reached: &reached,
            adapters: &adapters,
            prefixes: &prefixes,
            machine: &machine,
        };
        calls.add_needs(&mut needs, &mut problems);
        for (n, why) in &needs {
            if !granted.iter().any(|s| covers(s, n)) {
                problems.push(format!(
                    "{function}: needs {} on {}{} ({why}), which its role does not grant",
                    n.action,
                    n.resource,
                    match &n.condition {
                        Cond::PassedTo(s) => format!(" passed to {s}"),
                        Cond::NoPrefix => " without an s3:prefix condition".into(),
                        _ => String::new(),
                    }
                ));
            }
        }
        for statement in granted {
            for action in &statement.actions {
                for r in &statement.resources {
                    let used = needs
                        .keys()
                        .any(|n| n.action == *action && n.resource == *r && covers(statement, n));
                    if !used {
                        problems.push(format!(
                            "{function}: its role grants {action} on {r} ({}), which nothing the function runs needs",
                            statement.sid
                        ));
                    }
                }
            }
        }
    }
    problems
}

#[test]
fn every_role_grants_exactly_what_its_function_calls() {
    let found = problems(&template());
    assert!(found.is_empty(), "{found:#?}");
}

/// The pipeline's render step runs `convoy plan` (buildspec.yml) as the render project's role: every
/// read the plan sends must be granted, and the role may grant nothing else outside S3 and its logs
/// (the pipeline's artifacts, the binary, `inputs/` and `plans/`: tests/pipeline_contract.rs), so
/// nothing a release changes. And the plan itself must send reads only.
fn render_role_problems(doc: &Value) -> Vec<String> {
    let who = "convoy plan";
    let sources = sources_with_cli();
    let module = format!("{CLI}::cmd::plan");
    let Some(run) = sources
        .fns
        .iter()
        .position(|f| f.owner.is_none() && f.module == module && f.name == "run")
    else {
        return vec![format!("{who}: no `run` in cli/src/cmd/plan.rs")];
    };
    let mut untyped = Vec::new();
    let reached = reached_from(&sources, vec![run], &mut untyped);
    let mut problems: Vec<String> = untyped
        .into_iter()
        .map(|u| format!("{who}: cannot tell what this calls: {u}"))
        .collect();
    if reached.is_empty() {
        problems.push(format!(
            "{who}: reaches no AWS call (a scan that sees nothing)"
        ));
    }
    let (adapters, _) = adapters(&sources);
    let prefixes = record_prefixes();
    let machine = machine_name(doc);
    let mut needs = BTreeMap::new();
    let calls = Calls {
        who,
        reached: &reached,
        adapters: &adapters,
        prefixes: &prefixes,
        machine: &machine,
    };
    calls.add_needs(&mut needs, &mut problems);
    let reads = ["Describe", "List", "Get", "BatchGet"];
    for (n, why) in &needs {
        let verb = n.action.split_once(':').map_or("", |(_, verb)| verb);
        if !reads.iter().any(|r| verb.starts_with(r)) {
            problems.push(format!(
                "{who}: sends {} ({why}), which is not a read",
                n.action
            ));
        }
    }
    let mut granted = Vec::new();
    let role = &doc["Resources"]["RenderProjectRole"]["Properties"];
    for policy in role["Policies"].as_sequence().cloned().unwrap_or_default() {
        granted.extend(statements(&policy["PolicyDocument"]));
    }
    for (n, why) in &needs {
        if !granted.iter().any(|s| covers(s, n)) {
            problems.push(format!(
                "{who}: needs {} on {} ({why}), which the render role does not grant",
                n.action, n.resource
            ));
        }
    }
    for statement in &granted {
        for action in &statement.actions {
            if action.starts_with("s3:") || action.starts_with("logs:") {
                continue;
            }
            for r in &statement.resources {
                let used = needs
                    .keys()
                    .any(|n| n.action == *action && n.resource == *r && covers(statement, n));
                if !used {
                    problems.push(format!(
                        "{who}: the render role grants {action} on {r} ({}), which the plan does not send",
                        statement.sid
                    ));
                }
            }
        }
    }
    problems
}

#[test]
fn the_render_role_grants_every_read_the_plan_sends_and_no_change() {
    let found = render_role_problems(&template());
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn a_render_role_missing_a_read_or_granting_a_change_is_reported() {
    let mut doc = template();
    let statements = doc["Resources"]["RenderProjectRole"]["Properties"]["Policies"][0]
        ["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap();
    // Missing: the plan describes every service of the release.
    statements.retain(|s| s["Sid"].as_str() != Some("PlanReadServices"));
    // A change: what deploy-batch does to a service.
    statements.push(yaml(
        "{Sid: Deploy, Effect: Allow, Action: ecs:UpdateService, Resource: !Sub 'arn:${AWS::Partition}:ecs:${AWS::Region}:${AWS::AccountId}:service/*'}",
    ));
    let found = render_role_problems(&doc);
    let service = arn("ecs", "service/*");
    for expected in [
        format!("convoy plan: needs ecs:DescribeServices on {service} "),
        format!("convoy plan: the render role grants ecs:UpdateService on {service} (Deploy)"),
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(&expected)),
            "missing `{expected}` in {found:#?}"
        );
    }
    assert_eq!(found.len(), 2, "{found:#?}");
}

fn statement_mut<'a>(doc: &'a mut Value, role: &str, sid: &str) -> &'a mut Value {
    doc["Resources"][role]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["Sid"].as_str() == Some(sid))
        .unwrap_or_else(|| panic!("{role} has no statement {sid}"))
}

fn yaml(text: &str) -> Value {
    serde_yaml_ng::from_str(text).unwrap()
}

#[test]
fn a_missing_unused_or_too_broad_grant_is_reported() {
    let mut doc = template();
    // Missing: the rollback reads a revision's tags.
    doc["Resources"]["RollbackRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence_mut()
        .unwrap()
        .retain(|s| s["Sid"].as_str() != Some("WhoseRevision"));
    // Unused: deploy-batch never describes a rule.
    statement_mut(&mut doc, "DeployBatchRole", "UpdateRuleTargets")["Action"] =
        yaml("[events:DescribeRule, events:ListTargetsByRule, events:PutTargets]");
    // Too broad: a service read on every resource.
    statement_mut(&mut doc, "PlanReleaseRole", "ReadServices")["Resource"] = yaml("'*'");
    // Passed to the wrong service.
    statement_mut(&mut doc, "DeployBatchRole", "PassTaskRoles")["Condition"] =
        yaml("{StringEquals: {iam:PassedToService: events.amazonaws.com}}");
    // A prefix condition on the listing that makes a missing record NoSuchKey.
    statement_mut(&mut doc, "FinishReleaseRole", "FindReleaseRecords")["Condition"] =
        yaml("{StringLike: {s3:prefix: ledger/*}}");
    let found = problems(&doc);
    let service = arn("ecs", "service/*");
    for expected in [
        "rollback: needs ecs:DescribeTaskDefinition on * ".to_owned(),
        "deploy-batch: its role grants events:DescribeRule on ".to_owned(),
        format!("plan-release: needs ecs:DescribeServices on {service} "),
        "plan-release: its role grants ecs:DescribeServices on * ".to_owned(),
        "deploy-batch: needs iam:PassRole on ${PassableRoleArns} passed to ecs-tasks.amazonaws.com".to_owned(),
        "finish-release: needs s3:ListBucket on ${ReleaseRecordsBucket.Arn} without an s3:prefix condition".to_owned(),
    ] {
        assert!(
            found.iter().any(|p| p.starts_with(&expected)),
            "missing `{expected}` in {found:#?}"
        );
    }
    assert_eq!(found.len(), 6, "{found:#?}");
}

#[test]
fn request_builders_name_their_operation() {
    assert_eq!(
        operation_of_builder("RegisterTaskDefinitionInputBuilder").as_deref(),
        Some("register_task_definition")
    );
    assert_eq!(operation_of_builder("TaskDefinition"), None);
}
