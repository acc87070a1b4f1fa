//! Split points and showing what a wasm chunk holds (issue 18): a loading line until the
//! chunk is in, then its view, or a message and "Try again" if it could not
//! be fetched (the split points are `fallible`: a failed fetch is an error,
//! not a crash). The split points themselves are in `crate::chunks`,
//! `crate::app` and the pages that load a part of themselves later.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use leptos::prelude::*;
use leptos::wasm_split::SplitLoaderError;

/// A chunk's view, as a future (boxed, so [`later`] is compiled once, not
/// once per split point).
type ViewFuture = Pin<Box<dyn Future<Output = Result<AnyView, SplitLoaderError>> + Send>>;

/// A whole page in a chunk.
pub fn later<F, Fut>(page: F) -> AnyView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, SplitLoaderError>> + Send + 'static,
{
    boxed(Arc::new(move || Box::pin(page()) as ViewFuture), true, None)
}

/// A whole page in a chunk, whose loading line and failure are shown inside
/// `frame` (the signed-in frame: until it is in, nothing else gives the
/// page its header and `main` landmark).
pub fn later_framed<F, Fut>(page: F, frame: fn(AnyView) -> AnyView) -> AnyView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, SplitLoaderError>> + Send + 'static,
{
    boxed(
        Arc::new(move || Box::pin(page()) as ViewFuture),
        true,
        Some(frame),
    )
}

/// A section of a page in a chunk.
pub fn later_section<F, Fut>(section: F) -> AnyView
where
    F: Fn() -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<AnyView, SplitLoaderError>> + Send + 'static,
{
    boxed(
        Arc::new(move || Box::pin(section()) as ViewFuture),
        false,
        None,
    )
}

fn boxed(
    load: Arc<dyn Fn() -> ViewFuture + Send + Sync>,
    page: bool,
    frame: Option<fn(AnyView) -> AnyView>,
) -> AnyView {
    let attempt = RwSignal::new(0_u32);
    let loading = if page {
        "Loading the page…"
    } else {
        "Loading…"
    };
    let framed = move |view: AnyView| match frame {
        Some(frame) => frame(view),
        None => view,
    };
    view! {
        <Suspense fallback=move || framed(view! { <p class="plait-loading" role="status">{loading}</p> }.into_any())>
            {move || {
                attempt.track();
                let view = load();
                Suspend::new(async move {
                    match view.await {
                        Ok(view) => view,
                        Err(_) => {
                            let retry = view! {
                                <p>"This part of Plait has not been downloaded to this device yet, \
                                    and the network did not answer. Your work is kept on this device."</p>
                                <button class="nhsuk-button nhsuk-button--secondary" type="button"
                                    on:click=move |_| attempt.update(|n| *n += 1)>"Try again"</button>
                            };
                            if page {
                                framed(view! { <h1>"This page could not be loaded"</h1> {retry} }.into_any())
                            } else {
                                view! { <h2>"This section could not be loaded"</h2> {retry} }.into_any()
                            }
                        }
                    }
                })
            }}
        </Suspense>
    }
    .into_any()
}

/// Declares a split point: a function returning a view whose code the build
/// moves into the chunk of `module` (with `preload(name)`, also a function
/// that fetches that chunk ahead). Calling it returns a future.
///
/// In the crate's own unit tests it is an ordinary `async` function: the
/// wasm test runner instantiates the test binary without the splitter's
/// loader, whose imports it could not satisfy.
macro_rules! split_point {
    (
        $(#[$attr:meta])*
        [$module:ident $(, preload($preload:ident))?]
        $vis:vis fn $name:ident($($arg:ident: $ty:ty),* $(,)?) $body:block
    ) => {
        $(#[$attr])*
        #[cfg(not(test))]
        #[::leptos::wasm_split::wasm_split(
            $module, wasm_split_path = ::leptos::wasm_split, fallible $(, preload($preload))?
        )]
        $vis fn $name($($arg: $ty),*)
            -> ::std::result::Result<::leptos::prelude::AnyView, ::leptos::wasm_split::SplitLoaderError>
            $body

        $(#[$attr])*
        #[cfg(test)]
        #[allow(dead_code)]
        $vis async fn $name($($arg: $ty),*)
            -> ::std::result::Result<::leptos::prelude::AnyView, ::leptos::wasm_split::SplitLoaderError>
            $body

        $(
            #[cfg(test)]
            #[allow(dead_code)]
            $vis async fn $preload() -> ::std::result::Result<(), ::leptos::wasm_split::SplitLoaderError> {
                Ok(())
            }
        )?
    };
}
pub(crate) use split_point;
