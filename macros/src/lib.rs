//! `#[sockwq::main]` and `#[sockwq::test]`: tokio's `#[tokio::main]` and
//! `#[tokio::test]`, on sockwq's runtime. Use them through the `sockwq`
//! crate, which re-exports them.
//!
//! They take tokio's arguments, so code written for tokio compiles with only
//! the path changed:
//!
//! | argument | meaning |
//! |---|---|
//! | `flavor = "current_thread"` | the function runs in [`sockwq::block_on`]: one thread, its own reactor; spawned tasks run on it too (the default of `test`) |
//! | `flavor = "multi_thread"` | a `Runtime` with one worker per CPU runs spawned tasks; the function runs on the calling thread in `Runtime::block_on` (the default of `main`) |
//! | `worker_threads = N` | the `multi_thread` runtime has `N` workers |
//! | `crate = "path"` | where the runtime is, if not at `::sockwq` |
//!
//! `start_paused` is refused: sockwq has no paused test clock (tokio's
//! `test-util`), its timers run on the real clock. Any other argument is
//! refused too, as are a missing `async` and arguments to a test or to
//! `main` (another function under `#[sockwq::main]` may take some, as with
//! tokio).
//!
//! [`sockwq::block_on`]: https://docs.rs/sockwq/latest/sockwq/fn.block_on.html

use proc_macro::TokenStream;
use proc_macro2::{Span, TokenStream as TokenStream2};
use quote::{ToTokens, quote};
use syn::parse::Parser;
use syn::punctuated::Punctuated;
use syn::{Expr, ExprLit, ItemFn, Lit, Meta, ReturnType, Token};

/// Runs an `async fn` as a program's entry point (or any function) on
/// sockwq's runtime, like `#[tokio::main]`.
///
/// By default a multi-threaded [`Runtime`] with one worker per CPU runs
/// the spawned tasks while the function's body runs on the calling thread
/// (`Runtime::block_on`). `flavor = "current_thread"` runs everything on
/// the calling thread instead (`sockwq::block_on`). `worker_threads = N`
/// sets the number of workers; `crate = "path"` names the runtime crate
/// when it is not at `::sockwq`.
///
/// ```
/// #[sockwq::main]
/// async fn main() -> std::io::Result<()> {
///     let listener = sockwq::net::TcpListener::bind("127.0.0.1:0").await?;
///     let task = sockwq::spawn(async { 40 + 2 });
///     assert_eq!(task.await?, 42);
///     drop(listener);
///     Ok(())
/// }
/// ```
///
/// The same, spelled out:
///
/// ```
/// fn main() -> std::io::Result<()> {
///     sockwq::Runtime::builder().build()?.block_on(async {
///         // the body
///         Ok(())
///     })
/// }
/// ```
///
/// [`Runtime`]: https://docs.rs/sockwq/latest/sockwq/struct.Runtime.html
#[proc_macro_attribute]
pub fn main(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Main, args.into(), item.into()).into()
}

/// Runs an `async fn` as a test on sockwq's runtime, like `#[tokio::test]`.
///
/// By default the test runs in `sockwq::block_on` (tokio's
/// `current_thread`): the test thread, with its own reactor, runs the test
/// and every task it spawns. `flavor = "multi_thread"` (with
/// `worker_threads = N`, default 1 per CPU) runs spawned tasks on a
/// `Runtime`'s workers. The test function takes no arguments and may
/// return a `Result`, as any `#[test]`.
///
/// ```
/// #[sockwq::test]
/// async fn echoes() -> std::io::Result<()> {
///     let h = sockwq::spawn(async { "pong" });
///     assert_eq!(h.await?, "pong");
///     Ok(())
/// }
///
/// #[sockwq::test(flavor = "multi_thread", worker_threads = 2)]
/// async fn on_workers() {
///     let name = sockwq::spawn(async { std::thread::current().name().map(str::to_owned) });
///     assert!(name.await.unwrap().unwrap().starts_with("sockwq-worker"));
/// }
/// # fn main() {}
/// ```
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    expand(Kind::Test, args.into(), item.into()).into()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Main,
    Test,
}

impl Kind {
    fn attr(self) -> &'static str {
        match self {
            Kind::Main => "#[sockwq::main]",
            Kind::Test => "#[sockwq::test]",
        }
    }

    fn function(self) -> &'static str {
        match self {
            Kind::Main => "main",
            Kind::Test => "test",
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Flavor {
    CurrentThread,
    MultiThread,
}

/// The parsed arguments.
struct Config {
    flavor: Option<(Flavor, Span)>,
    worker_threads: Option<(usize, Span)>,
    krate: Option<syn::Path>,
}

/// Collects every error, so that one compile shows them all.
#[derive(Default)]
struct Errors(Option<syn::Error>);

impl Errors {
    fn push(&mut self, e: syn::Error) {
        match &mut self.0 {
            Some(all) => all.combine(e),
            None => self.0 = Some(e),
        }
    }

    fn at(&mut self, tokens: impl ToTokens, msg: impl std::fmt::Display) {
        self.push(syn::Error::new_spanned(tokens, msg));
    }
}

fn expand(kind: Kind, args: TokenStream2, item: TokenStream2) -> TokenStream2 {
    let mut input: ItemFn = match syn::parse2(item.clone()) {
        Ok(f) => f,
        Err(e) => {
            // Not a function: leave the item as it is, with the error.
            let msg = format!("{} applies to an `async fn` ({e})", kind.attr());
            let mut out = item;
            out.extend(syn::Error::new(e.span(), msg).into_compile_error());
            return out;
        }
    };
    let mut errors = Errors::default();
    let config = parse_args(kind, args, &mut errors);
    if input.sig.asyncness.is_none() {
        errors.at(
            input.sig.fn_token,
            "the `async` keyword is missing from the function declaration",
        );
    }
    // A test never takes arguments, nor does a program's `main`; another
    // function made synchronous by `#[sockwq::main]` may (as with tokio).
    let entry_point = kind == Kind::Test || input.sig.ident == "main";
    if entry_point && !input.sig.inputs.is_empty() {
        errors.at(
            &input.sig.inputs,
            format!("the {} function cannot accept arguments", kind.function()),
        );
        // Expanded without them, so that the error above is the only one.
        input.sig.inputs.clear();
    }
    if kind == Kind::Test {
        if let Some(i) = input.attrs.iter().position(is_test_attr) {
            errors.at(
                &input.attrs[i],
                "second test attribute is supplied, consider removing or changing the order of your test attributes",
            );
            // Expanded without it, so that the error above is the only one.
            input.attrs.remove(i);
        }
    }
    // Expanded even after an error, so that the error is the only one.
    let mut out = render(kind, &config, input);
    if let Some(e) = errors.0 {
        out.extend(e.into_compile_error());
    }
    out
}

/// `#[test]`, `#[core::prelude::*::test]` and the like.
fn is_test_attr(attr: &syn::Attribute) -> bool {
    attr.path().segments.last().is_some_and(|s| s.ident == "test")
}

fn parse_args(kind: Kind, args: TokenStream2, errors: &mut Errors) -> Config {
    let mut config = Config {
        flavor: None,
        worker_threads: None,
        krate: None,
    };
    let metas = match Punctuated::<Meta, Token![,]>::parse_terminated.parse2(args) {
        Ok(m) => m,
        Err(e) => {
            errors.push(e);
            return config;
        }
    };
    for meta in metas {
        let name = meta
            .path()
            .get_ident()
            .map(|i| i.to_string())
            .unwrap_or_else(|| meta.path().to_token_stream().to_string().replace(' ', ""));
        match (name.as_str(), &meta) {
            ("flavor", Meta::NameValue(nv)) => {
                let Some(s) = lit_str(&nv.value, "flavor", errors) else {
                    continue;
                };
                let flavor = match s.value().as_str() {
                    "current_thread" => Flavor::CurrentThread,
                    "multi_thread" => Flavor::MultiThread,
                    other => {
                        errors.at(
                            &s,
                            format!(
                                "unknown flavor `{other}`: expected \"current_thread\" or \"multi_thread\""
                            ),
                        );
                        continue;
                    }
                };
                if config.flavor.is_some() {
                    errors.at(&meta, "`flavor` set multiple times");
                }
                config.flavor = Some((flavor, s.span()));
            }
            ("worker_threads", Meta::NameValue(nv)) => {
                let n = match &nv.value {
                    Expr::Lit(ExprLit { lit: Lit::Int(i), .. }) => match i.base10_parse::<usize>() {
                        Ok(0) => {
                            errors.at(i, "`worker_threads` may not be 0");
                            continue;
                        }
                        Ok(n) => (n, i.span()),
                        Err(e) => {
                            errors.push(e);
                            continue;
                        }
                    },
                    other => {
                        errors.at(
                            other,
                            "`worker_threads` takes an integer, as in `worker_threads = 4`",
                        );
                        continue;
                    }
                };
                if config.worker_threads.is_some() {
                    errors.at(&meta, "`worker_threads` set multiple times");
                }
                config.worker_threads = Some(n);
            }
            ("crate", Meta::NameValue(nv)) => {
                let Some(s) = lit_str(&nv.value, "crate", errors) else {
                    continue;
                };
                match s.parse::<syn::Path>() {
                    Ok(p) => {
                        if config.krate.is_some() {
                            errors.at(&meta, "`crate` set multiple times");
                        }
                        config.krate = Some(p);
                    }
                    Err(e) => errors.at(
                        &s,
                        format!("`crate` takes a path, as in `crate = \"sockwq\"`: {e}"),
                    ),
                }
            }
            ("flavor" | "worker_threads" | "crate", _) => {
                errors.at(&meta, format!("`{name}` takes a value, as in `{name} = ...`"));
            }
            ("start_paused", _) => errors.at(
                &meta,
                "`start_paused` is not supported: sockwq has no paused test clock (tokio's \
                 `test-util`); its timers run on the real clock. Remove the argument.",
            ),
            ("current_thread" | "multi_thread", Meta::Path(_)) => errors.at(
                &meta,
                format!(
                    "set the runtime flavor with `{}`",
                    kind.attr().replace(']', &format!("(flavor = \"{name}\")]"))
                ),
            ),
            _ => errors.at(
                &meta,
                format!(
                    "unknown argument `{name}`: {} accepts `flavor`, `worker_threads` and `crate`",
                    kind.attr()
                ),
            ),
        }
    }
    if let (Some((Flavor::CurrentThread, _)), Some((_, span))) = (config.flavor, config.worker_threads) {
        errors.push(syn::Error::new(
            span,
            format!(
                "the `worker_threads` option requires the `multi_thread` runtime flavor. Use `{}`",
                kind.attr().replace(']', "(flavor = \"multi_thread\")]")
            ),
        ));
    }
    config
}

fn lit_str(value: &Expr, name: &str, errors: &mut Errors) -> Option<syn::LitStr> {
    match value {
        Expr::Lit(ExprLit { lit: Lit::Str(s), .. }) => Some(s.clone()),
        other => {
            errors.at(
                other,
                format!("`{name}` takes a string, as in `{name} = \"...\"`"),
            );
            None
        }
    }
}

/// The function, made synchronous, running its body on the runtime.
fn render(kind: Kind, config: &Config, mut input: ItemFn) -> TokenStream2 {
    input.sig.asyncness = None;
    let krate = config
        .krate
        .clone()
        .unwrap_or_else(|| syn::parse_quote!(::sockwq));
    let default = match kind {
        Kind::Main => Flavor::MultiThread,
        Kind::Test => Flavor::CurrentThread,
    };
    let flavor = config.flavor.map_or(default, |(f, _)| f);
    let run = match flavor {
        Flavor::CurrentThread => quote! { #krate::block_on(body) },
        Flavor::MultiThread => {
            let workers = config.worker_threads.map(|(n, _)| quote! { .worker_threads(#n) });
            quote! {
                #krate::Runtime::builder()
                    #workers
                    .build()
                    .expect("sockwq: failed to build the runtime")
                    .block_on(body)
            }
        }
    };
    let output = match &input.sig.output {
        ReturnType::Default => quote! { () },
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    };
    let body = &input.block;
    // The annotation gives the async block its output type (so that `?`
    // converts errors as in the `async fn`) and puts type errors on the body.
    let block = quote! {
        {
            let body = async #body;
            let body: ::core::pin::Pin<&mut dyn ::core::future::Future<Output = #output>> =
                ::core::pin::pin!(body);
            #run
        }
    };
    let test_attr = (kind == Kind::Test).then(|| quote! { #[::core::prelude::v1::test] });
    let ItemFn { attrs, vis, sig, .. } = input;
    quote! {
        #test_attr
        #(#attrs)*
        #vis #sig #block
    }
}
