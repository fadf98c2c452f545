//! The browser entry point: hydrates the server-rendered page. Lazy routes (see `app::lazy_page!`)
//! make hydration asynchronous: a page whose code is in a chunk waits for that chunk first.

#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    std::panic::set_hook(Box::new(|info| {
        console_error_panic_hook::hook(info);
        show_stopped();
    }));
    // An error only means the executor was set up already.
    let _ = any_spawner::Executor::init_wasm_bindgen();
    leptos::task::spawn_local(async {
        let Some(body) = web_sys::window().and_then(|w| w.document()).and_then(|d| d.body()) else {
            return;
        };
        leptos::mount::hydrate_from_async(body.clone(), app::App).await.forget();
        // Event handlers are attached from here on; browser tests wait for this mark.
        let _ = body.set_attribute("data-hydrated", "");
    });
}

/// A panic stops the module for good (the bundle is built with `panic = "abort"`), and so does a
/// chunk of the bundle that fails to load (leptos' lazy routes expect it to load): the page can
/// no longer respond, so it says so, with a reload link that needs no script (`rel=external`:
/// the router, which may be stopped, leaves it alone).
fn show_stopped() {
    let Some(document) = web_sys::window().and_then(|w| w.document()) else {
        return;
    };
    let (Some(body), None) = (document.body(), document.get_element_by_id("app-stopped")) else {
        return;
    };
    let Ok(banner) = document.create_element("div") else {
        return;
    };
    banner.set_id("app-stopped");
    banner.set_class_name("crash");
    let _ = banner.set_attribute("role", "alert");
    banner.set_inner_html(
        "<p>This page stopped working: part of it could not be loaded, or it hit an error. \
         <a href=\"\" rel=\"external\">Reload the page</a> to try again.</p>",
    );
    let _ = body.append_child(&banner);
}
